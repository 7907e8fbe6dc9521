#include "cli/monit.h"

#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/render/monit_view.h"
#include "logs/log_tail.h"

// ncurses' function-like macros (move, erase, refresh, timeout...) would capture std::move and
// friends: use the real functions.
#define NCURSES_NOMACROS 1
#include <curses.h>
#include <term.h>  // setupterm, tigetstr; it #defines every capability's name: keep it last

namespace herd::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kRefresh = std::chrono::milliseconds(1000);
constexpr std::size_t kPrefillLines = 100;  // per log file, when an app gets selected

volatile sig_atomic_t g_quit = 0;
extern "C" void on_quit_signal(int) { g_quit = 1; }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Why this terminal cannot run the view, or "" when it can.
std::string unusable_terminal() {
  if (::isatty(STDIN_FILENO) == 0 || ::isatty(STDOUT_FILENO) == 0) {
    return "monit needs a terminal on stdin and stdout; for scripts use `herd jlist` or "
           "`herd metrics`";
  }
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0') {
    return "monit needs TERM to name the terminal type (it is not set); try TERM=xterm-256color";
  }
  int err = 0;
  if (setupterm(term, STDOUT_FILENO, &err) != OK) {
    return std::string("TERM='") + term +
           "' is not a terminal type this system knows (no terminfo entry); try "
           "TERM=xterm-256color";
  }
  const char* cup = tigetstr("cup");
  bool can_move = cup != nullptr && cup != reinterpret_cast<char*>(-1);
  del_curterm(cur_term);
  if (!can_move) {
    return std::string("TERM='") + term +
           "' cannot move the cursor, which monit needs; try TERM=xterm-256color";
  }
  return {};
}

// The curses screen for the view's lifetime: endwin() on every way out.
class CursesScreen {
 public:
  bool open() {
    screen_ = newterm(nullptr, stdout, stdin);
    if (screen_ == nullptr) return false;
    set_term(screen_);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
      start_color();
      short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
      init_pair(1, COLOR_GREEN, bg);
      init_pair(2, COLOR_YELLOW, bg);
      init_pair(3, COLOR_RED, bg);
      init_pair(4, COLOR_CYAN, bg);
      colors_ = true;
    }
    return true;
  }
  ~CursesScreen() {
    if (screen_ == nullptr) return;
    endwin();
    delscreen(screen_);
  }

  int attr_of(MonitStyle s) const {
    auto color = [this](short pair) { return colors_ ? static_cast<int>(COLOR_PAIR(pair)) : 0; };
    switch (s) {
      case MonitStyle::kTitle:
        return A_BOLD | color(4);
      case MonitStyle::kHeader:
        return A_BOLD;
      case MonitStyle::kOnline:
        return A_BOLD | color(1);
      case MonitStyle::kPending:
        return color(2);
      case MonitStyle::kError:
        return color(3);
      case MonitStyle::kDim:
        return A_DIM;
      case MonitStyle::kRule:
        return color(4);
      case MonitStyle::kNormal:
        break;
    }
    return A_NORMAL;
  }

  void paint(const std::vector<MonitLine>& screen_lines) {
    int width = getmaxx(stdscr);
    werase(stdscr);
    for (std::size_t y = 0; y < screen_lines.size(); ++y) {
      const MonitLine& line = screen_lines[y];
      int extra = line.selected ? A_REVERSE : 0;
      wmove(stdscr, static_cast<int>(y), 0);
      for (const auto& span : line.spans) {
        wattrset(stdscr, attr_of(span.style) | extra);
        waddstr(stdscr, span.text.c_str());
      }
      if (line.selected) {
        // The highlight spans the whole row; the bottom-right cell is left alone (writing
        // there would scroll).
        wattrset(stdscr, A_REVERSE);
        int x = getcurx(stdscr);
        int last = static_cast<int>(y) + 1 == getmaxy(stdscr) ? width - 1 : width;
        for (; x < last; ++x) waddch(stdscr, ' ');
      }
    }
    wattrset(stdscr, A_NORMAL);
    wrefresh(stdscr);
  }

  void redraw() { clearok(stdscr, TRUE); }

 private:
  SCREEN* screen_ = nullptr;
  bool colors_ = false;
};

class Monit {
 public:
  Monit(Client& client, bool unicode) : client_(&client), home_(client.home()), unicode_(unicode) {}

  int run(CursesScreen& screen) {
    auto next_refresh = Clock::now();
    while (g_quit == 0 && !quit_) {
      if (Clock::now() >= next_refresh) {
        refresh_list();
        next_refresh = Clock::now() + kRefresh;
        dirty_ = true;
      }
      follow_selection();
      if (dirty_) {
        screen.paint(model_.render(getmaxx(stdscr), getmaxy(stdscr), unicode_));
        dirty_ = false;
      }
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {-1, POLLIN, 0}};
      if (logs_) fds[1].fd = logs_->fd();
      auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_refresh - Clock::now());
      int r = ::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(wait.count(), 0)));
      if (r < 0 && errno != EINTR) break;
      // The terminal went away (an SSH session dropped without a hang-up signal).
      if (r > 0 && (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) break;
      // Keys (and KEY_RESIZE, which ncurses queues on SIGWINCH, whose handler woke poll).
      read_keys(screen);
      if (r > 0 && logs_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_logs(true);
    }
    return 0;
  }

 private:
  void read_keys(CursesScreen& screen) {
    int page = std::max(1, getmaxy(stdscr) / 4);
    for (int ch; (ch = wgetch(stdscr)) != ERR;) {
      switch (ch) {
        case 'q':
        case 'Q':
          quit_ = true;
          return;
        case KEY_UP:
        case 'k':
          model_.move_selection(-1);
          break;
        case KEY_DOWN:
        case 'j':
          model_.move_selection(1);
          break;
        case KEY_PPAGE:
          model_.move_selection(-page);
          break;
        case KEY_NPAGE:
          model_.move_selection(page);
          break;
        case KEY_HOME:
        case 'g':
          model_.move_selection(-1'000'000);
          break;
        case KEY_END:
        case 'G':
          model_.move_selection(1'000'000);
          break;
        case 12:  // Ctrl-L
          screen.redraw();
          break;
        case KEY_RESIZE:
        default:
          break;
      }
      dirty_ = true;
    }
  }

  void refresh_list() {
    if (client_ == nullptr) {
      // The daemon went away earlier: try again, without starting one.
      auto fresh = std::make_unique<Client>(home_);
      if (!fresh->connect(false)) return;
      own_client_ = std::move(fresh);
      client_ = own_client_.get();
    }
    auto list = client_->call(manager::Verb::kJlist, manager::ListRequest{.brief = true});
    if (!list) {
      model_.set_message("the daemon does not answer (" + list.error().message + "); q quits",
                         true);
      client_ = nullptr;
      logs_.reset();
      log_ids_.clear();
      return;
    }
    if (!logs_error_) model_.set_message("", false);
    list_ = std::move(*list);
    model_.set_processes(list_, wall_ms());
  }

  // Streams the log of the selected app; subscribes again when the selection moves to another
  // app or the app's instances change (scaled, re-created).
  void follow_selection() {
    std::vector<int> ids = model_.selected_app_ids();
    if (ids == log_ids_ || client_ == nullptr) return;
    log_ids_ = ids;
    logs_.reset();
    logs_error_ = false;
    model_.clear_log();
    dirty_ = true;
    if (ids.empty()) return;
    // First the end of the files (as `herd logs` does), then the live lines.
    std::vector<std::string> seen;
    for (const auto& p : list_) {
      int id = p.value("pm_id", -1);
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
      for (const char* key : {"pm_out_log_path", "pm_err_log_path"}) {
        std::string path = p["pm2_env"].value(key, "");
        if (path.empty() || std::find(seen.begin(), seen.end(), path) != seen.end()) continue;
        seen.push_back(path);
        auto tail = manager::tail_lines(path, kPrefillLines);
        if (!tail) continue;
        bool err = std::strcmp(key, "pm_err_log_path") == 0;
        for (const auto& line : *tail) model_.add_log_line(id, p.value("name", ""), err, line);
      }
    }
    auto stream = std::make_unique<Client>(home_);
    manager::TargetsRequest targets;
    for (int id : ids) targets.targets.push_back(std::to_string(id));
    Status s = stream->connect(false);
    Client::CallResult first =
        s ? stream->call(manager::Verb::kLogs, targets) : std::unexpected(client_error(s.error()));
    if (!first) {
      log_failed(first.error().message);
      return;
    }
    logs_ = std::move(stream);
    read_logs(false);
  }

  void read_logs(bool read_socket) {
    auto events = logs_->read_events(read_socket);
    if (!events) {
      log_failed(events.error().message());
      return;
    }
    for (const auto& ev : *events) {
      if (ev.value("event", "") != "log") continue;
      int id = ev.value("pm_id", -1);
      if (std::find(log_ids_.begin(), log_ids_.end(), id) == log_ids_.end()) continue;
      model_.add_log_line(id, ev.value("app", ""), ev.value("stream", "") == "err",
                          ev.value("line", ""));
      dirty_ = true;
    }
  }

  void log_failed(const std::string& why) {
    logs_.reset();
    logs_error_ = true;
    model_.set_message("the live log stopped: " + why, true);
    dirty_ = true;
  }

  Client* client_;
  std::unique_ptr<Client> own_client_;
  manager::Home home_;
  bool unicode_;
  MonitModel model_;
  json list_ = json::array();
  std::unique_ptr<Client> logs_;
  std::vector<int> log_ids_;
  bool logs_error_ = false;
  bool dirty_ = true;
  bool quit_ = false;
};

}  // namespace

int run_monit(Client& client) {
  if (std::string why = unusable_terminal(); !why.empty()) {
    std::fprintf(stderr, "herd: %s\n", why.c_str());
    return 1;
  }
  // The terminal's own encoding decides whether UTF-8 may be drawn.
  std::setlocale(LC_ALL, "");
  bool unicode = std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

  // Installed before curses starts, so that it leaves them to us: every way out restores the
  // terminal. No SA_RESTART: the signal must wake poll().
  struct sigaction sa {};
  sa.sa_handler = on_quit_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);

  CursesScreen screen;
  if (!screen.open()) {
    std::fprintf(stderr, "herd: monit cannot start the terminal (TERM='%s')\n",
                 std::getenv("TERM"));
    return 1;
  }
  Monit monit(client, unicode);
  return monit.run(screen);
}

}  // namespace herd::cli
