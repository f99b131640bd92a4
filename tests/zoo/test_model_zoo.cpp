// Weights files, the zoo.json manifest and the runtime model_zoo: round trips give identical
// predictions, broken zoos fail with errors naming the file and field, predict returns probabilities
// and gives the same answers from concurrent threads as sequentially.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#include <unistd.h>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/zoo/model_zoo.hpp"
#include "patchzoo/zoo/zoo_spec.hpp"
#include "support/random.hpp"
#include "support/temp_dir.hpp"

using namespace patchzoo;
using namespace patchzoo::zoo;
namespace fs = std::filesystem;

namespace {

tensor<float> images(std::int64_t n, std::uint64_t seed) {
  return test::random_tensor<float>(shape_t{n, 1, image_side, image_side}, seed, 0.0, 1.0);
}

// A zoo of three untrained models (sequential MLP, CNN, ViT) with made-up profiles.
void write_small_zoo(const fs::path& dir) {
  eigen_backend be;
  using L = layer_spec;
  const std::vector<std::pair<std::string, architecture>> specs{
      {"a", mlp({16})},
      {"b", sequential_spec{{L::conv2d(4, 3, 1), L::gelu(), L::maxpool2d(2), L::flatten(), L::linear(10)}}},
      {"c", vit_spec{4, 16, 2, 32, 1}}};
  manifest m;
  m.seed = 1;
  m.profiling_split = "test";
  m.profiling_images = 10;
  m.machine = "test";
  m.latency_runs = 1;
  for (std::size_t k = 0; k < specs.size(); ++k) {
    auto model = make_classifier<eigen_backend, float>(specs[k].second, 40 + k);
    save_weights(be, dir / (specs[k].first + ".safetensors"), *model, specs[k].first);
    manifest_model e;
    e.profile = {specs[k].first, "model-" + specs[k].first, 0.5 + 0.1 * k, 0.1 * (k + 1), 0.2 * (k + 1),
                 model->parameter_count(), model->flops()};
    e.test_accuracy = 0.5;
    e.architecture = to_json(specs[k].second);
    e.weights = specs[k].first + ".safetensors";
    m.models.push_back(e);
  }
  write_manifest(dir / manifest_file_name, m);
}

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
  write_small_zoo(dir.path);
  const auto zoo = model_zoo::load(dir.path);
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
  write_small_zoo(dir.path);
  const auto zoo = model_zoo::load(dir.path);
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

TEST_CASE("model_zoo: broken zoos fail with the file and field named") {
  temp_dir dir("zoo_broken");
  write_small_zoo(dir.path);
  const auto manifest_path = dir.path / manifest_file_name;
  const auto good = read_json(manifest_path);

  SUBCASE("missing manifest") {
    fs::remove(manifest_path);
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path), doctest::Contains("no zoo.json in"), error);
  }
  SUBCASE("missing weights file") {
    fs::remove(dir.path / "b.safetensors");
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path),
                         doctest::Contains("b.safetensors of model 'b'"), error);
  }
  SUBCASE("missing field") {
    auto j = good;
    j["models"][1].erase("latency_p50_ms");
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path),
                         doctest::Contains("model 1 ('b') is missing field 'latency_p50_ms'"), error);
  }
  SUBCASE("field of the wrong type") {
    auto j = good;
    j["models"][0]["accuracy"] = "high";
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path), doctest::Contains("model 0 ('a') field 'accuracy' has the wrong type"),
                         error);
  }
  SUBCASE("wrong parameter count") {
    auto j = good;
    j["models"][0]["parameters"] = 5;
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path), doctest::Contains("field 'parameters' is 5"), error);
  }
  SUBCASE("architecture differs from the weights file") {
    auto j = good;
    j["models"][0]["architecture"] = to_json(mlp({32}));
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path), doctest::Contains("a.safetensors: architecture differs"), error);
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
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path), doctest::Contains("a.safetensors: tensor 'layers.1.bias': shape mismatch: expected [16] (destination), found [32]"), error);
  }
  SUBCASE("latencies out of order") {
    auto j = good;
    j["models"][2]["latency_p99_ms"] = 0.01;
    write_json(manifest_path, j);
    CHECK_THROWS_WITH_AS(model_zoo::load(dir.path), doctest::Contains("model 2 ('c') needs 0 < latency_p50_ms"), error);
  }
}
