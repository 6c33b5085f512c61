#include "storage/api_answers.h"

#include <json/reader.h>

#include <memory>
#include <optional>
#include <utility>

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "util/json_text.h"

namespace phoneverify::storage {
namespace {

constexpr char kFindAnswerSql[] =
    "SELECT status, body FROM api_answers "
    "WHERE client_id = ? AND request = ? AND idem_key = ? AND created_at > ?";
constexpr char kKeepAnswerSql[] =
    "INSERT INTO api_answers (client_id, request, idem_key, status, body, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)";

// The stored form: status 0 and the object's JSON, or 1 + the ErrorKind and the error's
// fields as JSON.
std::pair<int64_t, std::string> Encode(const domain::ApiAnswer& answer) {
  if (answer.status.ok()) return {0, util::ToJson(answer.object)};
  const util::Error& e = answer.status.error();
  Json::Value body(Json::objectValue);
  body["code"] = e.code;
  body["details"] = e.details;
  body["field"] = e.field;
  if (e.retry_after) body["retry_after"] = Json::Int64(*e.retry_after);
  if (e.attempts_left) body["attempts_left"] = Json::Int64(*e.attempts_left);
  return {1 + static_cast<int64_t>(e.kind), util::ToJson(body)};
}

std::optional<domain::ApiAnswer> Decode(int64_t status, const std::string& text) {
  Json::Value body;
  Json::CharReaderBuilder builder;
  const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  if (!reader->parse(text.data(), text.data() + text.size(), &body, nullptr)) return std::nullopt;
  domain::ApiAnswer answer;
  answer.replayed = true;
  if (status == 0) {
    answer.object = std::move(body);
    return answer;
  }
  util::Error e = util::Error::Make(static_cast<util::ErrorKind>(status - 1),
                                    body["code"].asString(), body["details"].asString(),
                                    body["field"].asString());
  if (body.isMember("retry_after")) e.retry_after = body["retry_after"].asInt64();
  if (body.isMember("attempts_left")) e.attempts_left = body["attempts_left"].asInt64();
  answer.status = e;
  return answer;
}

util::Result<std::optional<domain::ApiAnswer>> FindAnswer(Connection& conn,
                                                          const domain::ApiRequest& request,
                                                          const std::string& key) {
  auto rows = conn.Query(kFindAnswerSql,
                         {Param::Int(request.client_id), Param::Text(request.name),
                          Param::Text(key), Param::Int(request.now - kAnswerKeepSeconds)});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<domain::ApiAnswer>();
  auto answer = Decode(rows.value()[0].Int(0), rows.value()[0].Text(1));
  if (!answer) return util::Error::Internal();
  return answer;
}

util::Status KeepAnswer(Connection& conn, const domain::ApiRequest& request,
                        const std::string& key, const domain::ApiAnswer& answer) {
  const auto [status, body] = Encode(answer);
  return conn
      .Exec(kKeepAnswerSql, {Param::Int(request.client_id), Param::Text(request.name),
                             Param::Text(key), Param::Int(status), Param::Text(body),
                             Param::Int(request.now)})
      .status();
}

}  // namespace

util::Result<domain::ApiAnswer> RunOnce(
    Database& db, util::Random& random, const domain::ApiRequest& request,
    const std::function<util::Result<Outcome>(Connection&)>& work) {
  // A server token cannot be sent by a client in practice ("~" + 128 random bits), and
  // only this request's re-runs know it.
  const std::string key = request.client_key ? *request.client_key : MadeUpKey(random);
  std::optional<domain::ApiAnswer> answer;
  bool refused = false;
  util::Status done = db.TransactIdempotent([&](Connection& conn) -> util::Status {
    refused = false;
    auto kept = FindAnswer(conn, request, key);
    if (!kept.ok()) return kept.error();
    if (kept.value()) {
      answer = std::move(*kept.value());
      return util::Status::Ok();
    }
    auto outcome = work(conn);
    if (!outcome.ok()) return outcome.error();
    answer = std::move(outcome.value().answer);
    if (!outcome.value().wrote) {
      refused = true;  // roll back whatever locks and stamps the work took
      return util::Error::Make(util::ErrorKind::kConflict, "refused", "");
    }
    return KeepAnswer(conn, request, key, *answer);
  });
  if (refused && answer) return std::move(*answer);
  if (!done.ok()) return done.error();
  if (!answer) return util::Error::Internal();
  return std::move(*answer);
}

util::Result<int64_t> PruneAnswers(Connection& conn, int64_t before, int max) {
  auto done = conn.Exec("DELETE FROM api_answers WHERE created_at <= ? LIMIT ?",
                        {Param::Int(before), Param::Int(max)});
  if (!done.ok()) return done.error();
  return static_cast<int64_t>(done.value().affected_rows);
}

}  // namespace phoneverify::storage
