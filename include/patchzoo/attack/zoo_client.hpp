#pragma once
// What an attacker can do with a model-less server, whether it runs in the same process or behind
// `patchzoo serve`: send images with an accuracy/latency spec and read back class probabilities (or a
// refusal). Every image submitted counts as one query, so each attack's cost is exact.
#include <cstdint>
#include <string>

#include "patchzoo/core/tensor.hpp"
#include "patchzoo/psml/service_request.hpp"

namespace patchzoo::attack {

struct client_response {
  tensor<float> probabilities;  // [B, 10] when answered; empty otherwise
  bool answered = false;        // false: the server found the spec infeasible (HTTP 422) and sent no output
};

class zoo_client {
 public:
  virtual ~zoo_client() = default;

  // images [B, 1, 28, 28] in [0, 1]. Counts B queries whether or not the request is answered.
  client_response query(const psml::service_request& spec, const tensor<float>& images) {
    check(images.rank() == 4 && images.dim(0) >= 1 && images.dim(1) == 1 && images.dim(2) == 28 && images.dim(3) == 28,
          "zoo_client", "images must be [B, 1, 28, 28] with B >= 1, got ", images.shape().str());
    queries_ += images.dim(0);
    ++requests_;
    client_response r = send(spec, images);
    check(!r.answered || (r.probabilities.rank() == 2 && r.probabilities.dim(0) == images.dim(0) &&
                          r.probabilities.dim(1) == 10),
          "zoo_client", "the server answered ", r.probabilities.shape().str(), " for ", images.dim(0), " images");
    return r;
  }

  std::int64_t queries() const { return queries_; }    // images submitted so far
  std::int64_t requests() const { return requests_; }  // calls to query so far

  // Administrator operations (they need the server's admin credentials): the "single" attack mode's
  // upper bound serves one named model to every request. Never part of what an attacker can do.
  virtual void pin_model(const std::string& model_id) = 0;
  virtual void unpin_model() = 0;

 protected:
  virtual client_response send(const psml::service_request& spec, const tensor<float>& images) = 0;

 private:
  std::int64_t queries_ = 0;
  std::int64_t requests_ = 0;
};

}  // namespace patchzoo::attack
