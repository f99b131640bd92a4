// Fuzzes psml::parse_defense_config (psml/defense_config.hpp), the parser of the server's --defense text
// ("<kind>[:key=value,...]"). Beyond not crashing, an accepted spec must round-trip through describe(),
// as the header promises: a mismatch aborts, which libFuzzer reports like a crash.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "patchzoo/psml/defense_config.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace patchzoo::psml;

void fuzz_one(std::span<const std::uint8_t> input) {
  const std::string_view spec(reinterpret_cast<const char*>(input.data()), input.size());
  const defense_config c = parse_defense_config(spec);
  const std::string text = describe(c);
  if (!(parse_defense_config(text) == c)) {
    std::fprintf(stderr, "describe() does not round-trip: '%s'\n", text.c_str());
    std::abort();
  }
}

void write_seeds(const seed_writer& out) {
  const char* specs[] = {
      "none",
      "exponential",
      "exponential:epsilon=0.5,score=goodput",
      "permute-and-flip:epsilon=2,sensitivity=0.25,accuracy-scale=0.1,latency-scale=50,score=quantile",
      "noisy-spec:noise=gaussian,accuracy=0.01,latency=3,never-looser=0",
      "noisy-spec:latency=1e-3,never-looser=true",
  };
  int k = 0;
  for (const char* s : specs) out.text("spec" + std::to_string(k++), s);
}
