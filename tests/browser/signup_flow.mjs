// A person with only a browser: sign up -> read the SMS -> verify -> account -> a page
// behind the wall. The Nepali flow types the phone and the code in Devanagari digits. Debian's chromium, headless, driven by playwright-core (no browser
// downloads). Run by tests/integration/browser_test.cpp, which feeds the SMS the fake
// gateway receives into --sms as JSON lines {"to": "98...", "text": "..."}.
//
//   node signup_flow.mjs --base http://127.0.0.1:PORT --sms FILE --out DIR --lang en|ne
//                        --username NAME --phone 98XXXXXXXX
//
// Exit status 0 when every step passed; screenshots DIR/<lang>-1-signup.png,
// -2-verify-error.png (a mistyped code), -2-verify.png, -3-account.png (phone-sized
// viewport, full page).
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const key of ['base', 'sms', 'out', 'lang', 'username', 'phone']) {
    if (!args[key]) throw new Error(`missing --${key}`);
  }
  return args;
}

// A Nepali keyboard types Devanagari digits (०–९): the Nepali flow types its numbers so.
function asTyped(ascii, nepali) {
  return nepali ? ascii.replace(/[0-9]/g, (d) => String.fromCharCode(0x0966 + Number(d))) : ascii;
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// Polls the SMS file for the first message to `phone`; returns its code.
async function readCode(file, phone, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const sms = JSON.parse(line);
        if (sms.to !== phone) continue;
        const code = sms.text.match(/[0-9]{4,10}/);
        check(code, `no code in the SMS text: ${sms.text}`);
        return { code: code[0], text: sms.text };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no SMS for ${phone} within ${timeoutMs} ms`);
}

async function main() {
  const args = parseArgs(process.argv);
  const nepali = args.lang === 'ne';
  mkdirSync(args.out, { recursive: true });
  const shot = (name) => join(args.out, `${args.lang}-${name}.png`);
  const profile = mkdtempSync(join(tmpdir(), 'phoneverify-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // The browser's own language: the pages must pick it up from Accept-Language.
    locale: nepali ? 'ne-NP' : 'en-US',
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(15000);

    // 1. Sign up.
    const signup = await page.goto(`${args.base}/signup`);
    check(signup.status() === 200, `GET /signup answered ${signup.status()}`);
    const lang = await page.getAttribute('html', 'lang');
    check(lang === args.lang, `page language ${lang}, wanted ${args.lang}`);
    await page.fill('#username', args.username);
    await page.fill('#password', 'a long passphrase');
    await page.fill('#phone', asTyped(args.phone, nepali));
    await page.screenshot({ path: shot('1-signup'), fullPage: true });
    await Promise.all([page.waitForURL('**/verify'), page.click('button[type=submit]')]);

    // 2. Verify with the code the phone received.
    const masked = `${args.phone.slice(0, 2)}******${args.phone.slice(8)}`;
    check((await page.textContent('#status')).includes(masked), 'the verify page shows the masked phone');
    check(await page.getAttribute('#otp', 'autocomplete') === 'one-time-code', 'one-time-code field');
    check(await page.getAttribute('#otp', 'inputmode') === 'numeric', 'numeric keyboard');
    const sms = await readCode(args.sms, args.phone);
    check(nepali === /[\u0900-\u097F]/.test(sms.text), `SMS language: ${sms.text}`);
    // A mistyped code first: the page comes back with the error next to the field.
    const typo = sms.code.slice(0, -1) + String((Number(sms.code.slice(-1)) + 1) % 10);
    await page.fill('#otp', asTyped(typo, nepali));
    await Promise.all([page.waitForLoadState('load'), page.click('form[action="/verify"] button')]);
    check(await page.isVisible('#otp-error'), 'a wrong code is reported next to the field');
    check(await page.inputValue('#otp') === asTyped(typo, nepali), 'the typed code is kept');
    await page.screenshot({ path: shot('2-verify-error'), fullPage: true });
    // The browser's own check (the pattern attribute) must let the typed digits through.
    await page.fill('#otp', asTyped(sms.code, nepali));
    check(await page.$eval('#otp', (input) => input.validity.valid), 'the typed code passes the form check');
    await page.screenshot({ path: shot('2-verify'), fullPage: true });
    await Promise.all([page.waitForURL('**/account'), page.click('form[action="/verify"] button')]);

    // 3. The account page, and a page behind the wall.
    check(await page.isVisible('#verified'), 'the account page says the phone is verified');
    check((await page.textContent('body')).includes(args.username), 'the account page names the user');
    await page.screenshot({ path: shot('3-account'), fullPage: true });
    const members = await page.goto(`${args.base}/members/`);
    check(members.status() === 200, `GET /members/ answered ${members.status()}`);
    check(await page.isVisible('#members'), 'the protected page is shown');
    console.log(`${args.lang}: signed up, verified with code from "${sms.text}", reached /account and /members/`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
