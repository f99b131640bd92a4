#pragma once
// The trained zoo as the server uses it: profiles for selection, and predictions from any model, on the
// backend B chosen at compile time (eigen_backend, xtensor_backend, or cuda_backend in a CUDA build).
// Images in and probabilities / features out are host tensors whatever B is: the classifiers copy the
// images into B's memory, predict_probabilities / predict_features copy the results back.
//
// Thread safety: after load() the zoo is immutable. predict() and features() are const and build their
// own backend object and activations per call, so any number of threads may call them concurrently, on
// the same model or different ones; results do not depend on what other threads do. The CPU backends
// are empty objects, so a backend per call costs nothing; cuda_backend's constructor makes a stream and
// a cuBLAS handle and selects the device on the calling thread, which is what makes its concurrent
// calls correct (and costs that set-up per call).
#include <filesystem>
#include <memory>
#include <vector>

#include "patchzoo/backend/concepts.hpp"
#include "patchzoo/psml/model_profile.hpp"
#include "patchzoo/zoo/manifest.hpp"
#include "patchzoo/zoo/training.hpp"
#include "patchzoo/zoo/weights.hpp"

namespace patchzoo::zoo {

template <backend B>
class model_zoo {
 public:
  // Reads dir/zoo.json and every weights file it names; checks that each file's architecture and
  // parameter count agree with the manifest. Errors name the file and the field.
  static model_zoo load(const std::filesystem::path& dir) {
    const auto manifest_path = dir / manifest_file_name;
    check(std::filesystem::exists(manifest_path), "model_zoo::load", "no ", manifest_file_name, " in ", dir.string());
    const auto m = read_manifest(manifest_path);
    model_zoo zoo;
    B be;
    for (const auto& e : m.models) {
      const auto weights = dir / e.weights;
      check(std::filesystem::exists(weights), "model_zoo::load", "weights file ", weights.string(), " of model '",
            e.profile.id, "' (", manifest_path.string(), ") does not exist");
      auto model = load_weights<B, float>(be, weights);
      check(to_json(model->spec()) == e.architecture, "model_zoo::load", weights.string(),
            ": architecture differs from the one ", manifest_path.string(), " gives for model '", e.profile.id, "'");
      check(model->parameter_count() == e.profile.parameters, "model_zoo::load", manifest_path.string(), ": model '",
            e.profile.id, "' field 'parameters' is ", e.profile.parameters, " but ", weights.string(), " holds ",
            model->parameter_count());
      zoo.profiles_.push_back(e.profile);
      zoo.models_.push_back(std::move(model));
    }
    return zoo;
  }

  const std::vector<psml::model_profile>& profiles() const { return profiles_; }
  std::size_t size() const { return models_.size(); }

  // Class probabilities [B, 10] for images [B, 1, 28, 28] in [0, 1], on the host.
  tensor<float> predict(std::size_t model_index, const tensor<float>& images) const {
    B be;
    return predict_probabilities(be, model(model_index), images);
  }

  // Penultimate-layer features [B, F] (F depends on the model), on the host.
  tensor<float> features(std::size_t model_index, const tensor<float>& images) const {
    B be;
    return predict_features(be, model(model_index), images);
  }

 private:
  const classifier<B, float>& model(std::size_t index) const {
    check(index < models_.size(), "model_zoo", "model index ", index, " is out of range [0, ", models_.size(), ")");
    return *models_[index];
  }

  std::vector<psml::model_profile> profiles_;
  std::vector<std::unique_ptr<classifier<B, float>>> models_;
};

}  // namespace patchzoo::zoo
