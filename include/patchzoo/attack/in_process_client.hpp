#pragma once
// The zoo in the same process: a psml::router picks the model(s), a serve::model_executor runs them.
// Same answers as `patchzoo serve` without HTTP, so experiments run fast. The models that served each
// image are recorded for the experiment's measurements only (victim-trigger rate); attack code reads
// what a remote client could read, never served_models().
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "patchzoo/attack/zoo_client.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/psml/router.hpp"
#include "patchzoo/serve/model_executor.hpp"

namespace patchzoo::attack {

class in_process_client final : public zoo_client {
 public:
  in_process_client(std::shared_ptr<serve::model_executor> executor, std::shared_ptr<psml::router> router)
      : executor_(std::move(executor)), router_(std::move(router)) {
    check(executor_ != nullptr && router_ != nullptr, "in_process_client", "needs an executor and a router");
  }

  void pin_model(const std::string& model_id) override {
    const auto index = router_->find(model_id);
    check(index.has_value(), "in_process_client", "pin: no model '", model_id, "' in the zoo");
    router_->pin(*index);
  }
  void unpin_model() override { router_->unpin(); }

  // Ground truth for measurements: the zoo index that answered each image of every answered request,
  // in submission order (refused requests add nothing).
  const std::vector<std::size_t>& served_models() const { return served_; }
  void clear_served_models() { served_.clear(); }
  const psml::router& router() const { return *router_; }

 protected:
  // One decision per input (the router's granularity says whether they are all the same one). A request
  // is refused as a whole if any of its inputs has no model, as the HTTP server answers one status.
  client_response send(const psml::service_request& spec, const tensor<float>& images) override {
    const std::int64_t n = images.dim(0);
    const std::vector<psml::route_decision> decisions = router_->route_inputs(spec, static_cast<std::size_t>(n));
    for (const psml::route_decision& d : decisions)
      if (d.status != psml::selection_status::selected) return {};
    client_response r{tensor<float>(shape_t{n, 10}), true};
    std::map<std::size_t, std::vector<std::int64_t>> rows_of;  // model -> its rows, so each model runs once
    for (std::int64_t i = 0; i < n; ++i) rows_of[decisions[static_cast<std::size_t>(i)].model_index].push_back(i);
    const std::int64_t pixels = images.numel() / n;
    for (const auto& [model, rows] : rows_of) {
      tensor<float> part(shape_t{static_cast<std::int64_t>(rows.size()), images.dim(1), images.dim(2), images.dim(3)});
      for (std::size_t k = 0; k < rows.size(); ++k)
        std::copy(images.data() + rows[k] * pixels, images.data() + (rows[k] + 1) * pixels,
                  part.data() + static_cast<std::int64_t>(k) * pixels);
      const tensor<float> out = executor_->predict(model, part);
      for (std::size_t k = 0; k < rows.size(); ++k)
        std::copy(out.data() + static_cast<std::int64_t>(k) * 10, out.data() + static_cast<std::int64_t>(k + 1) * 10,
                  r.probabilities.data() + rows[k] * 10);
    }
    for (const psml::route_decision& d : decisions) served_.push_back(d.model_index);
    return r;
  }

 private:
  std::shared_ptr<serve::model_executor> executor_;
  std::shared_ptr<psml::router> router_;
  std::vector<std::size_t> served_;
};

}  // namespace patchzoo::attack
