// Everything the pages say, in English and Nepali, and the choice between the two.
//
// Texts are looked up by key; templates reach them as {{t.<key>}}. Some texts hold
// placeholders filled by the page handlers: {wait} (a duration), {n} (a number),
// {phone} (a masked phone), {digits} (the code length). Error messages are looked up by
// the contract's error code ("invalid_phone", ...), so the pages never show the API's
// English `details` to a Nepali reader.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/language.h"
#include "handlers/view.h"
#include "util/status.h"

namespace phoneverify::handlers {

// The language for a request: an explicit choice first (the `lang` query parameter, then
// the `lang` cookie; "en" or "ne"), then the best of en/ne in Accept-Language by q-value
// (ties: first listed; q=0 excludes), English when nothing matches.
domain::Language ChooseLanguage(std::string_view param, std::string_view cookie,
                                std::string_view accept_language);

// The text for `key` in `language`; the key itself when unknown (tests catch that).
const std::string& PageText(domain::Language language, std::string_view key);
// Every text of `language` as a ViewData object (for {{t.<key>}}).
ViewData PageTexts(domain::Language language);
// Every key, for tests.
std::vector<std::string> PageTextKeys();

// `text` with "{name}" replaced by `value`.
std::string Fill(std::string text, std::string_view name, std::string_view value);

// The human message for an error shown on a page, in `language`: the catalogue's
// "error_<code>" text with {wait} (retry_after) and {n} (attempts_left, else
// `code_digits`: invalid_field is only ever about the code on a page) filled; a generic
// message for codes without one.
std::string ErrorMessage(domain::Language language, const util::Error& error, int code_digits);

}  // namespace phoneverify::handlers
