#pragma once
// Serves any zoo type with the model_zoo runtime API (load(dir), profiles(), thread-safe predict), such
// as zoo::model_zoo<B> on any backend B, through the server's model_executor interface.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "patchzoo/serve/model_executor.hpp"

namespace patchzoo::serve {

template <class Zoo>
class zoo_executor final : public model_executor {
 public:
  explicit zoo_executor(Zoo zoo) : zoo_(std::move(zoo)) {}
  const std::vector<psml::model_profile>& profiles() const override { return zoo_.profiles(); }
  tensor<float> predict(std::size_t model_index, const tensor<float>& images) override {
    return zoo_.predict(model_index, images);
  }

 private:
  Zoo zoo_;
};

// Loads the zoo from `dir` afresh on every call: the server's start-up and its admin reload.
template <class Zoo>
auto zoo_loader(std::filesystem::path dir) {
  return [dir = std::move(dir)]() -> std::shared_ptr<model_executor> {
    return std::make_shared<zoo_executor<Zoo>>(Zoo::load(dir));
  };
}

}  // namespace patchzoo::serve
