// `herd ls -m`: PM2's mini list (lib/API/UX/pm2-ls-minimal.js), compared byte for byte.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/render/format.h"
#include "unit/cli_format_util.h"

namespace herd::cli {
namespace {

// The shape of `pm2 ls -m` (checked with pm2 7.0.4): the sizes keep bytesToSize's trailing
// space, uptime is 0 unless online, a stopped instance's pid is 0.
TEST(FormatMiniList, PrintsPm2sBlocksInJlistOrder) {
  json list = fixture();
  list[1]["pm2_env"]["pm_err_log_path"] = "/home/deploy/.herd/logs/worker-error.log";
  list[1]["pm2_env"]["pm_pid_path"] = "/home/deploy/.herd/pids/worker-2.pid";
  list.erase(2);
  EXPECT_EQ(format_mini_list(list, at_now(true)),
            "+--- api\n"
            "namespace : default\n"
            "version : N/A\n"
            "pid : 4101\n"
            "pm2 id : 0\n"
            "status : online\n"
            "mode : cluster\n"
            "restarted : 0\n"
            "uptime : 3h\n"
            "memory usage : 3.1mb \n"
            "error log : /home/deploy/.herd/logs/api-error-0.log\n"
            "watching : no\n"
            "PID file : /home/deploy/.herd/pids/api-0.pid\n"
            "\n"
            "+--- worker\n"
            "namespace : jobs\n"
            "version : N/A\n"
            "pid : 0\n"
            "pm2 id : 2\n"
            "status : errored\n"
            "mode : fork\n"
            "restarted : 16\n"
            "uptime : 0\n"
            "memory usage : 0b \n"
            "error log : /home/deploy/.herd/logs/worker-error.log\n"
            "watching : yes\n"
            "PID file : /home/deploy/.herd/pids/worker-2.pid\n"
            "\n");
}

TEST(FormatMiniList, OddInputNeverThrows) {
  EXPECT_EQ(format_mini_list(json::object(), at_now()), "");
  EXPECT_EQ(format_mini_list(json::array(), at_now()), "");
  std::string odd = format_mini_list(json::parse(R"([1, {"pm2_env": 3, "monit": "x"}])"), at_now());
  EXPECT_NE(odd.find("+--- N/A\n"), std::string::npos);
  EXPECT_NE(odd.find("memory usage : \n"), std::string::npos);
}

}  // namespace
}  // namespace herd::cli
