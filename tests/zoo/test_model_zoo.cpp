// Weights files, the zoo.json manifest and the runtime model_zoo: round trips give identical
// predictions, broken zoos fail with errors naming the file and field, predict returns probabilities
// and gives the same answers from concurrent threads as sequentially (eigen backend), and the runtime on
// the xtensor reference agrees with it.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#include <unistd.h>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/zoo/model_zoo.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "support/compare.hpp"
#include "support/random.hpp"
#include "support/small_zoo.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;
namespace fs = std::filesystem;

namespace {

// The runtime of the server's default backend; the cross-backend test below covers the others.
using eigen_zoo = model_zoo<eigen_backend>;

tensor<float> images(std::int64_t n, std::uint64_t seed) { return test::zoo_images(n, seed); }

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

void write_json(const fs::path& p, const nlohmann::json& j) { std::ofstream(p) << j.dump(2); }

}  // namespace

TEST_CASE("zoo weights: save then load gives bit-identical predictions") {
  temp_dir dir("zoo_weights");
  eigen_backend be;
  for (const auto& e : fashion_mnist_zoo()) {
    INFO(e.id);
    auto model = make_classifier<eigen_backend, float>(e.spec, 77);
    save_weights(be, dir.path / "w.safetensors", *model, e.id);
    const auto loaded = load_weights<eigen_backend, float>(be, dir.path / "w.safetensors");
    CHECK(to_json(loaded->spec()) == to_json(e.spec));
    const auto x = images(3, 8);
    const auto p = predict_probabilities(be, *model, x), q = predict_probabilities(be, *loaded, x);
    REQUIRE(p.numel() == q.numel());
    for (std::int64_t i = 0; i < p.numel(); ++i) CHECK(p[i] == q[i]);
  }
}

TEST_CASE("model_zoo: loads, predicts probabilities and features") {
  temp_dir dir("zoo_load");
  test::write_small_zoo(dir.path);
  const auto zoo = eigen_zoo::load(dir.path);
  REQUIRE(zoo.size() == 3);
  CHECK(zoo.profiles()[1].id == "b");
  CHECK(zoo.profiles()[2].latency_p99_ms == doctest::Approx(0.6));
  const auto x = images(4, 3);
  for (std::size_t k = 0; k < zoo.size(); ++k) {
    const auto p = zoo.predict(k, x);
    REQUIRE(p.shape() == shape_t{4, class_count});
    for (std::int64_t i = 0; i < 4; ++i) {
      double total = 0;
      for (std::int64_t c = 0; c < class_count; ++c) {
        CHECK(p[i * class_count + c] >= 0.0f);
        total += p[i * class_count + c];
      }
      CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
    }
    CHECK(zoo.features(k, x).dim(0) == 4);
  }
  CHECK(zoo.features(0, x).dim(1) == 16);
  CHECK(zoo.features(2, x).dim(1) == 16);
  CHECK_THROWS_WITH_AS(zoo.predict(3, x), doctest::Contains("model index 3 is out of range"), error);
}

TEST_CASE("model_zoo: concurrent predictions equal sequential ones") {
  temp_dir dir("zoo_threads");
  test::write_small_zoo(dir.path);
  const auto zoo = eigen_zoo::load(dir.path);
  const auto x = images(5, 4), y = images(2, 6);
  std::vector<tensor<float>> expected;
  for (std::size_t k = 0; k < zoo.size(); ++k) expected.push_back(zoo.predict(k, k % 2 ? y : x));
  std::vector<int> mismatches(4, 0);
  auto worker = [&](int t) {
    for (int round = 0; round < 20; ++round)
      for (std::size_t k = 0; k < zoo.size(); ++k) {
        const std::size_t m = (k + static_cast<std::size_t>(t)) % zoo.size();  // threads hit models in different orders
        const auto p = zoo.predict(m, m % 2 ? y : x);
        for (std::int64_t i = 0; i < p.numel(); ++i) mismatches[t] += p[i] != expected[m][i];
      }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) CHECK(mismatches[t] == 0);
}

TEST_CASE("model_zoo: the same zoo on eigen and on the xtensor reference gives the same probabilities and features") {
  temp_dir dir("zoo_backends");
  test::write_small_zoo(dir.path);
  const auto fast = model_zoo<eigen_backend>::load(dir.path);
  const auto reference = model_zoo<xtensor_backend>::load(dir.path);
  REQUIRE(fast.size() == reference.size());
  // A whole model's forward pass in float against the reference: tests/support/tolerances.hpp, "model".
  const auto tol = test::f32_tolerance("model");
  const auto x = images(6, 9);
  for (std::size_t k = 0; k < fast.size(); ++k) {
    INFO("model " << fast.profiles()[k].id);
    CHECK(reference.profiles()[k].id == fast.profiles()[k].id);
    test::check_close("probabilities", fast.predict(k, x), reference.predict(k, x), tol);
    test::check_close("features", fast.features(k, x), reference.features(k, x), tol);
  }
}

TEST_CASE("model_zoo: broken zoos fail with the file and field named") {
  temp_dir dir("zoo_broken");
  test::write_small_zoo(dir.path);
  const auto manifest_path = dir.path / manifest_file_name;
  const auto good = read_json(manifest_path);

  SUBCASE("missing manifest") {
    fs::remove(manifest_path);
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path), doctest::Contains("no zoo.json in"), error);
  }
  SUBCASE("missing weights file") {
    fs::remove(dir.path / "b.safetensors");
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path),
                         doctest::Contains("b.safetensors of model 'b'"), error);
  }
  SUBCASE("missing field") {
    auto j = good;
    j["models"][1].erase("latency_p50_ms");
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path),
                         doctest::Contains("model 1 ('b') is missing field 'latency_p50_ms'"), error);
  }
  SUBCASE("field of the wrong type") {
    auto j = good;
    j["models"][0]["accuracy"] = "high";
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path), doctest::Contains("model 0 ('a') field 'accuracy' has the wrong type"),
                         error);
  }
  SUBCASE("wrong parameter count") {
    auto j = good;
    j["models"][0]["parameters"] = 5;
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path), doctest::Contains("field 'parameters' is 5"), error);
  }
  SUBCASE("architecture differs from the weights file") {
    auto j = good;
    j["models"][0]["architecture"] = to_json(mlp({32}));
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path), doctest::Contains("a.safetensors: architecture differs"), error);
  }
  SUBCASE("tensor of the wrong shape") {
    // A file that claims mlp-16 but holds an mlp-32's first layer.
    eigen_backend be;
    auto other = make_classifier<eigen_backend, float>(mlp({32}), 1);
    auto host = download(be, std::as_const(*other).params().flat());
    safetensors_writer w;
    for (const auto& s : other->layout().slices()) w.add(s.name, tensor_view<float>(host.data() + s.offset, s.shape));
    w.add_metadata("format", weights_format_tag);
    w.add_metadata("architecture", to_json(mlp({16})).dump());
    w.write(dir.path / "a.safetensors");
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path), doctest::Contains("a.safetensors: tensor 'layers.1.bias': shape mismatch: expected [16] (destination), found [32]"), error);
  }
  SUBCASE("latencies out of order") {
    auto j = good;
    j["models"][2]["latency_p99_ms"] = 0.01;
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(eigen_zoo::load(dir.path), doctest::Contains("model 2 ('c') needs 0 < latency_p50_ms"), error);
  }
}
