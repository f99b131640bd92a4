#pragma once
// One exception type for the whole library; messages name the op and the shapes involved.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace patchzoo {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace detail

// check(cond, "op", "what went wrong", ...) throws patchzoo::error("op: what went wrong ...").
template <class... Parts>
inline void check(bool condition, const char* op, Parts&&... parts) {
  if (!condition) throw error(detail::concat(op, ": ", std::forward<Parts>(parts)...));
}

}  // namespace patchzoo
