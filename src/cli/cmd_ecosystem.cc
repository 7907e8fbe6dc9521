// `herd ecosystem [simple]` / `herd init`: writes PM2's sample ecosystem.config.js (its
// lib/templates/ecosystem.tpl and ecosystem-simple.tpl, byte for byte) in the current folder.
// PM2 overwrites a file already there; herd refuses to, so a real configuration is never lost
// to a sample.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <string_view>

#include "cli/commands.h"
#include "herd/base/fd.h"

namespace herd::cli {
namespace {

constexpr std::string_view kFileName = "ecosystem.config.js";

constexpr std::string_view kSample = R"(module.exports = {
  apps : [{
    script: 'index.js',
    watch: '.'
  }, {
    script: './service-worker/',
    watch: ['./service-worker']
  }],

  deploy : {
    production : {
      user : 'SSH_USERNAME',
      host : 'SSH_HOSTMACHINE',
      ref  : 'origin/master',
      repo : 'GIT_REPOSITORY',
      path : 'DESTINATION_PATH',
      'pre-deploy-local': '',
      'post-deploy' : 'npm install && pm2 reload ecosystem.config.js --env production',
      'pre-setup': ''
    }
  }
};
)";

constexpr std::string_view kSimpleSample = R"(module.exports = {
  apps : [{
    name   : "app1",
    script : "./app.js"
  }]
}
)";

}  // namespace

int cmd_ecosystem(Cli& cli) {
  if (cli.args.size() > 1 || (cli.args.size() == 1 && cli.args[0] != "simple")) {
    return fail_with(std::string("usage: herd ") + std::string(cli.name) + " [simple]");
  }
  std::string_view text = cli.args.empty() ? kSample : kSimpleSample;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return fail_with("cannot tell the current folder");
  std::string path = std::string(cwd) + "/" + std::string(kFileName);
  auto fd = Fd::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  if (!fd && fd.error().code() == EEXIST) {
    return fail_with(path + " already exists; herd leaves it as it is (remove it for a sample)");
  }
  if (!fd) return fail_with(fd.error().message());
  while (!text.empty()) {
    ssize_t n = ::write(fd->get(), text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_with(Error::from_errno("write " + path).message());
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  std::printf("File %s generated\n", path.c_str());
  return 0;
}

}  // namespace herd::cli
