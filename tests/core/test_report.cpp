#include <doctest/doctest.h>

#include <sstream>

#include "patchzoo/util/report.hpp"

using namespace patchzoo;

TEST_CASE("report: one JSON object on one line with --json, key: value lines otherwise") {
  report r;
  r["version"] = "0.1.0";
  r["threads"] = 8;
  r["backends"]["eigen"] = true;
  r["backends"]["cuda"] = false;
  r["devices"] = nlohmann::ordered_json::array({"H100", "A100"});
  r["loss"] = 2.5;

  std::ostringstream json_out;
  r.emit(true, json_out);
  CHECK(json_out.str() ==
        R"({"version":"0.1.0","threads":8,"backends":{"eigen":true,"cuda":false},"devices":["H100","A100"],"loss":2.5})"
        "\n");
  CHECK(nlohmann::json::parse(json_out.str()).at("backends").at("eigen") == true);

  std::ostringstream text_out;
  r.emit(false, text_out);
  CHECK(text_out.str() ==
        "version: 0.1.0\nthreads: 8\nbackends.eigen: true\nbackends.cuda: false\n"
        "devices: [\"H100\",\"A100\"]\nloss: 2.5\n");
}

TEST_CASE("format_report_text: empty objects and non-object reports") {
  CHECK(format_report_text(nlohmann::ordered_json::object()) == "");
  CHECK(format_report_text(nlohmann::ordered_json{{"extra", nlohmann::ordered_json::object()}}) == "extra: {}\n");
  CHECK(format_report_text(nlohmann::ordered_json(3)) == "value: 3\n");
}
