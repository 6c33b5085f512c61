<?php
// Checks a phoneverify webhook (Standard Webhooks scheme) in plain PHP (7.4 or later).
//
//   $body = file_get_contents('php://input');           // the raw bytes, as received
//   if (!phoneverify_webhook_ok(getenv('PHONEVERIFY_WEBHOOK_SECRET'), $body)) {
//       http_response_code(401); exit;
//   }
//   $event = json_decode($body, true);   // ["type" => ..., "timestamp" => ..., "data" => [...]]
//   // store it, keyed by $_SERVER['HTTP_WEBHOOK_ID'] (retries repeat the same id), then:
//   http_response_code(204);
//
// The secret is the "whsec_..." that `phoneverify-admin client show NAME` prints.

function phoneverify_webhook_ok(string $secret, string $body, int $tolerance = 300): bool
{
    $id = $_SERVER['HTTP_WEBHOOK_ID'] ?? '';
    $timestamp = $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] ?? '';
    $signatures = $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? '';
    if ($id === '' || !ctype_digit($timestamp) || strpos($secret, 'whsec_') !== 0) {
        return false;
    }
    if (abs(time() - (int)$timestamp) > $tolerance) {
        return false;  // an old request replayed
    }
    $key = base64_decode(substr($secret, 6), true);
    if ($key === false) {
        return false;
    }
    $expected = base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $key, true));
    foreach (explode(' ', $signatures) as $part) {
        if (strpos($part, 'v1,') === 0 && hash_equals($expected, substr($part, 3))) {
            return true;
        }
    }
    return false;
}
