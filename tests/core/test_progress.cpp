#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "patchzoo/util/progress.hpp"

using namespace patchzoo;

namespace {
// A clock the test advances by hand.
struct fake_clock {
  double now = 100.0;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};
}  // namespace

TEST_CASE("format_duration: minutes and hours, unknown as --:--") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(7.4) == "0:07");
  CHECK(format_duration(59.6) == "1:00");
  CHECK(format_duration(725) == "12:05");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(-1) == "--:--");
  CHECK(format_duration(std::nan("")) == "--:--");
  CHECK(format_duration(INFINITY) == "--:--");
}

TEST_CASE("eta_seconds: remaining work at the average rate so far") {
  CHECK(eta_seconds(25, 100, 10.0) == doctest::Approx(30.0));
  CHECK(eta_seconds(50, 100, 4.0) == doctest::Approx(4.0));
  CHECK(eta_seconds(100, 100, 9.0) == 0.0);
  CHECK(eta_seconds(120, 100, 9.0) == 0.0);
  CHECK(std::isnan(eta_seconds(0, 100, 5.0)));
  CHECK(std::isnan(eta_seconds(10, 0, 5.0)));
}

TEST_CASE("format_rate: three significant digits with k and M") {
  CHECK(format_rate(850, "it") == "850 it/s");
  CHECK(format_rate(12.34, "it") == "12.3 it/s");
  CHECK(format_rate(5, "tok") == "5.00 tok/s");
  CHECK(format_rate(4560, "tok") == "4.56k tok/s");
  CHECK(format_rate(1.2e6, "tok") == "1.20M tok/s");
  CHECK(format_rate(std::nan(""), "it") == "- it/s");
}

TEST_CASE("progress_line and progress_bar render a snapshot") {
  const progress_state s{"train", 50, 200, 10.0, "step", "loss 2.31"};
  CHECK(progress_line(s) == "train: 50/200 (25.0%) 5.00 step/s elapsed 0:10 eta 0:30 | loss 2.31");
  CHECK(progress_bar(s, 8) == "train [##......] 50/200 5.00 step/s eta 0:30 | loss 2.31");
  const progress_state unknown_total{"scan", 30, 0, 3.0, "it", ""};
  CHECK(progress_line(unknown_total) == "scan: 30 it 10.0 it/s elapsed 0:03");
  CHECK(progress_bar(unknown_total, 4) == "scan [....] 30 10.0 it/s elapsed 0:03");
}

TEST_CASE("progress in non-terminal mode prints throttled lines and a final line") {
  fake_clock clock;
  std::ostringstream out;
  {
    progress p("epoch", 4, {progress_style::lines, &out, 10.0, "batch", 30, clock.fn()});
    clock.now += 4;
    p.update(1);  // 4 s after start: throttled
    CHECK(out.str().empty());
    clock.now += 6;
    p.update(2, "loss 1.5");  // 10 s: printed
    clock.now += 5;
    p.advance();  // 15 s: throttled again
    clock.now += 2;
    p.advance();
    p.finish("loss 0.9");
    p.finish();  // a second finish prints nothing
  }
  CHECK(out.str() ==
        "epoch: 2/4 (50.0%) 0.20 batch/s elapsed 0:10 eta 0:10 | loss 1.5\n"
        "epoch: 4/4 (100.0%) 0.24 batch/s elapsed 0:17 eta 0:00 | loss 0.9\n");
}

TEST_CASE("progress: finish does not repeat a line that already shows the final state") {
  fake_clock clock;
  std::ostringstream out;
  progress p("copy", 2, {progress_style::lines, &out, 1.0, "file", 30, clock.fn()});
  clock.now += 2;
  p.update(2);
  p.finish();
  CHECK(out.str() == "copy: 2/2 (100.0%) 1.00 file/s elapsed 0:02 eta 0:00\n");
}

TEST_CASE("progress in terminal mode redraws one line and ends it") {
  fake_clock clock;
  std::ostringstream out;
  {
    progress p("fit", 2, {progress_style::bar, &out, 0.1, "it", 4, clock.fn()});
    clock.now += 1;
    p.update(1);
    clock.now += 1;
    p.update(2);
    p.finish();
  }
  CHECK(out.str() ==
        "\rfit [##..] 1/2 1.00 it/s eta 0:01\x1b[K"
        "\rfit [####] 2/2 1.00 it/s eta 0:00\x1b[K\n");
}

TEST_CASE("progress: an abandoned bar still ends its line; silent mode prints nothing") {
  fake_clock clock;
  std::ostringstream bar_out, silent_out;
  {
    progress p("fit", 10, {progress_style::bar, &bar_out, 0.0, "it", 2, clock.fn()});
    clock.now += 1;
    p.update(5);
  }
  CHECK(bar_out.str() == "\rfit [#.] 5/10 5.00 it/s eta 0:01\x1b[K\n");
  {
    progress p("quiet", 3, {progress_style::silent, &silent_out, 0.0, "it", 2, clock.fn()});
    p.update(3);
    p.finish();
  }
  CHECK(silent_out.str().empty());
}
