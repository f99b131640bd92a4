#pragma once
// One HTTP request and its response as plain values: what a handler of http_server sees and returns.
// The transport (Boost.Beast) stays inside http_server.hpp.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace patchzoo::serve {

struct http_request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as sent, e.g. "/v2/models/fashion-mnist/infer?x=1"
  std::string path;     // target without the query, percent-decoded (may hold any bytes)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  int remote_port = 0;

  // The first value of header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (key.size() == name.size() &&
          std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
        return value;
    return {};
  }
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Retry-After
};

// `%XX` sequences decoded; nothing when a `%` is not followed by two hex digits.
inline std::optional<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex(text[i + 1]), low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace patchzoo::serve
