// Logs as PM2 writes them: missing log folders made, --log-date-format, log_type json,
// merge_logs and the combined log's names, and `herd logs`' flags. Each test says whether it
// follows PM2's documentation or what PM2 7.0.4 does (its source, lib/, read for the details).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

unsigned mode_of(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A script that prints one line to stdout and one to stderr every 50 ms, forever.
constexpr const char* kTicker =
    "i=0\n"
    "while :; do echo \"tick-$i\"; echo \"oops-$i\" >&2; i=$((i+1)); sleep 0.05; done\n";

// PM2 7.0.4 (lib/Common.js, prepareAppConf): a missing folder of -o/-e/-l is created
// ("Folder does not exist ... Creating folder"), with fs.mkdirSync's mode, 0777 less the
// umask. herd makes it when the daemon opens the file, 0755 less the umask.
TEST_F(HerdTest, MissingLogFoldersAreCreated) {
  std::string out = path("var/a/out.log"), err = path("var/b/err.log");
  std::string all = path("var/c/d/all.log");
  CommandResult r = herd({"start", write_script("app", kTicker), "-o", out, "-e", err, "-l", all});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_for([&] { return contains(read_file(out), "tick-1\n"); })) << read_file(out);
  EXPECT_TRUE(wait_for([&] { return contains(read_file(err), "oops-1\n"); })) << read_file(err);
  EXPECT_TRUE(wait_for([&] {
    std::string text = read_file(all);
    return contains(text, "tick-1\n") && contains(text, "oops-1\n");
  })) << read_file(all);
  mode_t mask = ::umask(0);
  ::umask(mask);
  for (const char* dir : {"var", "var/a", "var/b", "var/c", "var/c/d"}) {
    EXPECT_EQ(mode_of(path(dir)), 0755u & ~mask) << dir;
  }
}

// PM2 7.0.4 refuses a start whose log folder cannot be made ("Could not create folder", exit
// 1). herd has started the app by then: it says which log and why on stderr, exits 1, and keeps
// saying it in describe and herd.log; the other logs still work.
TEST_F(HerdTest, LogFolderThatCannotBeMadeIsReportedNotSilent) {
  write_file(path("plain-file"), "not a folder\n");
  std::string out = path("plain-file/sub/out.log");
  CommandResult r = herd({"start", write_script("app", kTicker), "-o", out});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr(out)) << r;
  EXPECT_THAT(r.err, HasSubstr("Not a directory")) << r;
  Json p = instance(jlist(), "app");
  EXPECT_EQ(p["pm2_env"]["status"], "online");
  EXPECT_THAT(p["pm2_env"].value("log_error", ""), HasSubstr(out));
  r = herd({"describe", "app"});
  EXPECT_THAT(r.out, HasSubstr("log error"));
  EXPECT_THAT(r.out, HasSubstr(out));
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr(out));
  std::string err = p["pm2_env"]["pm_err_log_path"];
  EXPECT_TRUE(wait_for([&] { return contains(read_file(err), "oops-1\n"); }));
}

// PM2 7.0.4 (lib/God/ForkMode.js, prefixLogWithDate): "<dayjs().format(log_date_format)>:
// <line>" for each line; the format in dayjs's tokens, [text] kept as is. Given by the flag
// or the ecosystem key, and shown in jlist.
TEST_F(HerdTest, LogDateFormatPrefixesEachLine) {
  CommandResult r = herd({"start", write_script("flagged", kTicker), "--log-date-format",
                          "YYYY-MM-DD HH:mm:ss.SSS Z"});
  ASSERT_EQ(r.exit_code, 0) << r;
  write_file(path("eco.json"), R"({"apps": [{"name": "keyed", "script": ")" +
                                   write_script("keyed.sh", kTicker) +
                                   R"(", "log_date_format": "[day] DD/MM/YY, h:mm A"}]})");
  r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;

  Json list = jlist();
  EXPECT_EQ(instance(list, "flagged")["pm2_env"]["log_date_format"], "YYYY-MM-DD HH:mm:ss.SSS Z");
  std::string out = instance(list, "flagged")["pm2_env"]["pm_out_log_path"];
  std::string err = instance(list, "flagged")["pm2_env"]["pm_err_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "tick-2\n"); }));
  ASSERT_TRUE(wait_for([&] { return contains(read_file(err), "oops-2\n"); }));
  static const std::regex kFlagged(
      R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [+-]\d{2}:\d{2}: (tick|oops)-\d+$)");
  for (const auto& file : {out, err}) {
    for (const auto& line : lines_of(read_file(file))) {
      EXPECT_TRUE(std::regex_match(line, kFlagged)) << "'" << line << "'";
    }
  }
  std::string keyed = instance(list, "keyed")["pm2_env"]["pm_out_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(keyed), "tick-1\n"); }));
  static const std::regex kKeyed(R"(^day \d{2}/\d{2}/\d{2}, \d{1,2}:\d{2} (AM|PM): tick-\d+$)");
  for (const auto& line : lines_of(read_file(keyed))) {
    EXPECT_TRUE(std::regex_match(line, kKeyed)) << "'" << line << "'";
  }
  EXPECT_FALSE(instance(list, "keyed")["pm2_env"].contains("log_type"));
}

// PM2 7.0.4 (lib/God/ForkMode.js, transformLogToJson): one JSON object per write with the
// fields message, timestamp, type ("out"/"err"), process_id, app_name, in that order; the
// timestamp is toISOString() (UTC) unless log_date_format is set. herd writes one per line.
TEST_F(HerdTest, LogTypeJsonWritesOneObjectPerLine) {
  write_file(path("eco.json"), R"({"apps": [
      {"name": "plain", "script": ")" +
                                   write_script("plain.sh", kTicker) + R"(", "log_type": "json"},
      {"name": "dated", "script": ")" +
                                   write_script("dated.sh", kTicker) + R"(", "log_type": "json",
       "log_date_format": "YYYY/MM/DD"}]})");
  CommandResult r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = jlist();
  Json plain = instance(list, "plain");
  EXPECT_EQ(plain["pm2_env"]["log_type"], "json");
  std::string out = plain["pm2_env"]["pm_out_log_path"];
  std::string err = plain["pm2_env"]["pm_err_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "tick-2"); }));
  ASSERT_TRUE(wait_for([&] { return contains(read_file(err), "oops-2"); }));

  static const std::regex kIso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  int id = plain["pm_id"];
  for (const auto& [file, type, word] : {std::tuple{out, "out", "tick-"}, {err, "err", "oops-"}}) {
    auto lines = lines_of(read_file(file));
    ASSERT_GE(lines.size(), 2u);
    for (const auto& line : lines) {
      // PM2's field order, exactly.
      EXPECT_TRUE(std::regex_match(
          line, std::regex(R"(^\{"message":.*,"timestamp":.*,"type":.*,"process_id":.*,)"
                           R"("app_name":.*\}$)")))
          << line;
      Json j = Json::parse(line);
      EXPECT_TRUE(j["message"].get<std::string>().starts_with(word)) << line;
      EXPECT_TRUE(j["message"].get<std::string>().ends_with("\n")) << line;
      EXPECT_TRUE(std::regex_match(j["timestamp"].get<std::string>(), kIso)) << line;
      EXPECT_EQ(j["type"], type);
      EXPECT_EQ(j["process_id"], id);
      EXPECT_EQ(j["app_name"], "plain");
    }
  }
  std::string dated = instance(list, "dated")["pm2_env"]["pm_out_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(dated), "tick-1"); }));
  Json first = Json::parse(lines_of(read_file(dated)).at(0));
  EXPECT_TRUE(
      std::regex_match(first["timestamp"].get<std::string>(), std::regex(R"(^\d{4}/\d{2}/\d{2}$)")))
      << first.dump();
}

// PM2 7.0.4 (lib/God.js, executeApp): without merge_logs, every log path of an instance, the
// combined one (-l) included, ends in "-<pm_id>.log"; merge_logs (PM2's default for a single
// fork instance, lib/Common.js) keeps one file of each kind for all instances. jlist shows the
// combined log as pm_log_path.
TEST_F(HerdTest, MergeLogsAndTheCombinedLogAreNamedAsPm2Does) {
  std::string script = write_script("multi", kTicker);
  CommandResult r = herd({"start", script, "-n", "split", "-i", "2", "-l", path("split.log")});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", script, "-n", "merged", "-i", "2", "--merge-logs", "-l", path("merged.log")});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", script, "-n", "single", "-l", path("single.log")});
  ASSERT_EQ(r.exit_code, 0) << r;

  Json list = jlist();
  for (const auto& p : instances(list, "split")) {
    std::string id = std::to_string(p["pm_id"].get<int>());
    EXPECT_EQ(p["pm2_env"]["pm_out_log_path"], path("logs/split-out-" + id + ".log"));
    EXPECT_EQ(p["pm2_env"]["pm_err_log_path"], path("logs/split-error-" + id + ".log"));
    EXPECT_EQ(p["pm2_env"]["pm_log_path"], path("split-" + id + ".log"));
    std::string combined = p["pm2_env"]["pm_log_path"];
    EXPECT_TRUE(wait_for([&] {
      std::string text = read_file(combined);
      return contains(text, "tick-1\n") && contains(text, "oops-1\n");
    })) << combined;
  }
  EXPECT_FALSE(file_exists(path("split.log")));
  auto merged = instances(list, "merged");
  ASSERT_EQ(merged.size(), 2u);
  for (const auto& p : merged) {
    EXPECT_EQ(p["pm2_env"]["pm_out_log_path"], path("logs/merged-out.log"));
    EXPECT_EQ(p["pm2_env"]["pm_log_path"], path("merged.log"));
  }
  // Both instances write to the one file: each counts from 0, so tick-0 comes twice.
  EXPECT_TRUE(wait_for([&] {
    std::string text = read_file(path("logs/merged-out.log"));
    return text.find("tick-0\n") != text.rfind("tick-0\n");
  }));
  EXPECT_EQ(instance(list, "single")["pm2_env"]["pm_log_path"], path("single.log"));
  EXPECT_FALSE(instance(list, "single")["pm2_env"].contains("log_type"));
}

// PM2's docs (`pm2 logs --help`) and PM2 7.0.4 (lib/API/Log.js, LogManagement.js): the last
// --lines lines of each out and error file ("<path> last N lines:" then "<id>|<name> | line"),
// --raw for bare lines, --nostream to stop there; a target is all, a name, an id, a namespace or
// several.
TEST_F(HerdTest, LogsNostreamRawAndLinesByNameIdAndAll) {
  CommandResult r = herd({"start", write_script("one", kTicker)});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", write_script("two", kTicker)});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list = jlist();
  std::string one_out = instance(list, "one")["pm2_env"]["pm_out_log_path"];
  std::string two_out = instance(list, "two")["pm2_env"]["pm_out_log_path"];
  ASSERT_TRUE(wait_for([&] {
    return contains(read_file(one_out), "tick-5\n") && contains(read_file(two_out), "tick-5\n");
  }));
  std::string two_id = std::to_string(instance(list, "two")["pm_id"].get<int>());

  r = herd({"logs", "one", "--nostream", "--lines", "3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr(one_out + " last 3 lines:"));
  EXPECT_THAT(r.out, HasSubstr("|one | tick-"));
  EXPECT_THAT(r.out, HasSubstr("|one | oops-"));
  EXPECT_THAT(r.out, Not(HasSubstr("|two |")));

  r = herd({"logs", two_id, "--nostream", "--raw", "--lines", "2", "--out"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto raw = lines_of(r.out);
  ASSERT_EQ(raw.size(), 2u) << r;
  for (const auto& line : raw) EXPECT_TRUE(line.starts_with("tick-")) << line;

  r = herd({"logs", "all", "--nostream", "--lines", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("|one | "));
  EXPECT_THAT(r.out, HasSubstr("|two | "));
  r = herd({"logs", "one", two_id, "--nostream", "--lines", "1", "--err"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("|one | oops-"));
  EXPECT_THAT(r.out, HasSubstr("|two | oops-"));
  EXPECT_THAT(r.out, Not(HasSubstr("tick-")));

  // A namespace is a target too (PM2's `pm2 logs <namespace>`).
  r = herd({"start", write_script("three", kTicker), "--namespace", "api"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string three_out = instance(jlist(), "three")["pm2_env"]["pm_out_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(three_out), "tick-1\n"); }));
  r = herd({"logs", "api", "--nostream", "--lines", "1", "--out"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("|three | tick-"));
  EXPECT_THAT(r.out, Not(HasSubstr("|one |")));

  // An unknown target: a message and a non-zero exit, as PM2's other verbs.
  r = herd({"logs", "nosuch", "--nostream"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("nosuch"));
  r = herd({"logs", "one", "--bogus"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
}

// PM2 7.0.4 (lib/binaries/CLI.js, lib/API/Log.js): `--timestamp [format]` puts
// "<dayjs().format(format)> " before each streamed line (default YYYY-MM-DD-HH:mm:ss).
TEST_F(HerdTest, LogsTimestampPrefixesStreamedLines) {
  CommandResult r = herd({"start", write_script("app", kTicker)});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto logs = herd_background({"logs", "app", "--lines", "0", "--timestamp"});
  static const std::regex kDefault(
      R"((^|\n)\d{4}-\d{2}-\d{2}-\d{2}:\d{2}:\d{2} \d+\|app \| tick-)");
  EXPECT_TRUE(logs->wait_output([](const std::string& s) { return std::regex_search(s, kDefault); },
                                kWaitTimeout))
      << logs->result();
  logs.reset();
  auto custom = herd_background({"logs", "app", "--lines", "0", "--timestamp", "[at] HH:mm"});
  static const std::regex kCustom(R"((^|\n)at \d{2}:\d{2} \d+\|app \| tick-)");
  EXPECT_TRUE(custom->wait_output(
      [](const std::string& s) { return std::regex_search(s, kCustom); }, kWaitTimeout))
      << custom->result();
}

// PM2 7.0.4 (lib/API/Log.js, jsonStream): --json streams one object per line, {message,
// timestamp, type, process_id, app_name}, the message without its line end, and no last lines
// first; with --nostream, the last lines as usual (PM2 checks --nostream first).
TEST_F(HerdTest, LogsJsonStreamsObjects) {
  CommandResult r = herd({"start", write_script("app", kTicker)});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string out = instance(jlist(), "app")["pm2_env"]["pm_out_log_path"];
  ASSERT_TRUE(wait_for([&] { return contains(read_file(out), "tick-1\n"); }));
  auto logs = herd_background({"logs", "app", "--json"});
  ASSERT_TRUE(logs->wait_output(
      [](const std::string& s) {
        return contains(s, R"("type":"out")") && contains(s, R"("type":"err")");
      },
      kWaitTimeout))
      << logs->result();
  std::string text = logs->result().out;
  logs.reset();
  auto lines = lines_of(text);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(text, Not(HasSubstr("last 15 lines")));
  for (const auto& line : lines) {
    if (line.empty() || line.back() != '}') continue;  // the last one may be cut by the kill
    Json j = Json::parse(line);
    EXPECT_EQ(j.size(), 5u) << line;
    EXPECT_TRUE(j["message"].get<std::string>().starts_with(j["type"] == "out" ? "tick-" : "oops-"))
        << line;
    EXPECT_EQ(j["app_name"], "app");
    EXPECT_TRUE(j["process_id"].is_number());
    EXPECT_TRUE(j["timestamp"].get<std::string>().ends_with("Z")) << line;
  }
  r = herd({"logs", "app", "--json", "--nostream", "--lines", "1"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("last 1 lines:"));
}

}  // namespace
}  // namespace herd::e2e
