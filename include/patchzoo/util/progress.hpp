#pragma once
// Human progress for long loops, always on stderr so stdout stays machine-readable: a redrawn bar
// with rate and ETA when stderr is a terminal, plain periodic lines when it is a log or a pipe.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace patchzoo {

// "0:07", "12:05", "1:02:03"; "--:--" when the time is unknown (negative, NaN or infinite).
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<std::int64_t>(std::llround(seconds));
  const std::int64_t h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[48];
  if (h > 0) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                           static_cast<long long>(s));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  return buf;
}

// Seconds left at the average rate so far; NaN while nothing is done or the total is unknown (<= 0).
inline double eta_seconds(std::int64_t done, std::int64_t total, double elapsed) {
  if (done <= 0 || total <= 0 || elapsed < 0) return std::numeric_limits<double>::quiet_NaN();
  if (done >= total) return 0.0;
  return elapsed * static_cast<double>(total - done) / static_cast<double>(done);
}

// "850 it/s", "12.3 it/s", "4.56k it/s", "1.20M it/s": three significant digits; "- it/s" if unknown.
inline std::string format_rate(double per_second, std::string_view unit) {
  const char* suffix = "";
  if (per_second >= 1e6) per_second /= 1e6, suffix = "M";
  else if (per_second >= 1e3) per_second /= 1e3, suffix = "k";
  char buf[64];
  if (!std::isfinite(per_second)) std::snprintf(buf, sizeof buf, "-");
  else if (per_second >= 100) std::snprintf(buf, sizeof buf, "%.0f%s", per_second, suffix);
  else if (per_second >= 10) std::snprintf(buf, sizeof buf, "%.1f%s", per_second, suffix);
  else std::snprintf(buf, sizeof buf, "%.2f%s", per_second, suffix);
  std::string out(buf);
  out.append(" ").append(unit).append("/s");
  return out;
}

// A snapshot of a loop, as the formatters below render it.
struct progress_state {
  std::string_view label;
  std::int64_t done = 0;
  std::int64_t total = 0;  // <= 0: unknown
  double elapsed = 0;      // seconds
  std::string_view unit = "it";
  std::string_view extra;  // caller's live metrics, e.g. "loss 2.31"
};

inline double progress_rate(const progress_state& s) {
  return s.elapsed > 0 ? static_cast<double>(s.done) / s.elapsed : std::numeric_limits<double>::quiet_NaN();
}

// One log line: "train: 50/100 (50.0%) 12.5 it/s elapsed 0:04 eta 0:04 | loss 2.31".
inline std::string progress_line(const progress_state& s) {
  std::ostringstream line;
  line << s.label << ": " << s.done;
  if (s.total > 0) {
    char pct[32];
    std::snprintf(pct, sizeof pct, " (%.1f%%)", 100.0 * static_cast<double>(s.done) / static_cast<double>(s.total));
    line << "/" << s.total << pct;
  } else {
    line << " " << s.unit;
  }
  line << " " << format_rate(progress_rate(s), s.unit) << " elapsed " << format_duration(s.elapsed);
  if (s.total > 0) line << " eta " << format_duration(eta_seconds(s.done, s.total, s.elapsed));
  if (!s.extra.empty()) line << " | " << s.extra;
  return line.str();
}

// One terminal frame: "train [#########...........] 50/100 12.5 it/s eta 0:04 | loss 2.31".
inline std::string progress_bar(const progress_state& s, int width) {
  const double fraction =
      s.total > 0 ? std::clamp(static_cast<double>(s.done) / static_cast<double>(s.total), 0.0, 1.0) : 0.0;
  const auto cells = static_cast<std::size_t>(std::max(width, 0));
  const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(cells));
  std::ostringstream bar;
  bar << s.label << " [" << std::string(filled, '#') << std::string(cells - filled, '.')
      << "] " << s.done;
  if (s.total > 0) bar << "/" << s.total;
  bar << " " << format_rate(progress_rate(s), s.unit);
  if (s.total > 0) bar << " eta " << format_duration(eta_seconds(s.done, s.total, s.elapsed));
  else bar << " elapsed " << format_duration(s.elapsed);
  if (!s.extra.empty()) bar << " | " << s.extra;
  return bar.str();
}

enum class progress_style { bar, lines, silent };

inline progress_style stderr_progress_style() { return ::isatty(STDERR_FILENO) ? progress_style::bar : progress_style::lines; }

inline double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct progress_options {
  progress_style style = stderr_progress_style();
  std::ostream* out = &std::cerr;
  double interval = -1;  // seconds between outputs; < 0 picks 0.1 s for the bar, 10 s for lines
  std::string unit = "it";
  int bar_width = 30;
  std::function<double()> clock = steady_seconds;
};

// Reports a loop of `total` steps (<= 0 if unknown), throttled to one output per interval.
class progress {
 public:
  progress(std::string label, std::int64_t total, progress_options options = {})
      : label_(std::move(label)), total_(total), opt_(std::move(options)) {
    if (opt_.interval < 0) opt_.interval = opt_.style == progress_style::bar ? 0.1 : 10.0;
    start_ = last_ = opt_.clock();
  }
  ~progress() {
    // An abandoned bar (an exception unwinding) still ends its line, so the error prints on its own.
    if (drawn_ && !finished_ && opt_.style == progress_style::bar) *opt_.out << "\n" << std::flush;
  }
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  void update(std::int64_t done, std::string_view extra = {}) {
    done_ = done;
    const double now = opt_.clock();
    if (now - last_ < opt_.interval) return;
    last_ = now;
    emit(now, extra);
  }
  void advance(std::int64_t steps = 1, std::string_view extra = {}) { update(done_ + steps, extra); }

  // Prints the final state once, whatever the throttle says.
  // A final state identical to the last output (same count, same extra text) is not repeated.
  void finish(std::string_view extra = {}) {
    if (finished_) return;
    if (!drawn_ || done_ != shown_done_ || extra != shown_extra_) emit(opt_.clock(), extra);
    if (opt_.style == progress_style::bar) *opt_.out << "\n" << std::flush;
    finished_ = true;
  }

  std::int64_t done() const { return done_; }
  double elapsed() const { return opt_.clock() - start_; }

 private:
  void emit(double now, std::string_view extra) {
    const progress_state s{label_, done_, total_, now - start_, opt_.unit, extra};
    if (opt_.style == progress_style::bar) *opt_.out << "\r" << progress_bar(s, opt_.bar_width) << "\x1b[K" << std::flush;
    else if (opt_.style == progress_style::lines) *opt_.out << progress_line(s) << "\n" << std::flush;
    drawn_ = opt_.style != progress_style::silent;
    shown_done_ = done_;
    shown_extra_ = extra;
  }

  std::string label_;
  std::int64_t total_;
  progress_options opt_;
  std::int64_t done_ = 0;
  std::int64_t shown_done_ = -1;
  std::string shown_extra_;
  double start_ = 0, last_ = 0;
  bool drawn_ = false, finished_ = false;
};

}  // namespace patchzoo
