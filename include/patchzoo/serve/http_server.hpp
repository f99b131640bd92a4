#pragma once
// An event-driven HTTP/1.1 server (Boost.Beast over Asio). A few I/O threads own every connection, so an
// idle or slow client costs a socket, a timer and a 16 KiB read buffer, never a thread; only complete
// requests reach the pool of handler threads. Each I/O thread runs its own io_context and keeps the
// connections it is dealt (round robin at accept): a connection's events never wake another thread, and no
// strand serialises them.
// The limits (docs/reliability.md, "The server's limits"):
//   - a request must arrive whole within read_timeout of the moment the server starts waiting for it, so a
//     slowloris client or an idle keep-alive connection is closed after that long;
//   - beyond max_connections a new connection is answered 503 and closed;
//   - a body over max_body_bytes is answered 413, a head over max_header_bytes 431, a malformed one 400;
//   - with max_pending requests already waiting for a handler, a new one is answered 503 at once;
//   - a handler that throws is answered 500; nothing a client sends ends the process or a thread.
// An optional fast handler answers on the I/O thread what needs no waiting (inference_server: a prediction
// while a worker's share is free), saving the hand-over to a handler thread and back.
// Consumers link Boost's headers (Debian libboost-dev) and Threads.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/io/json_limits.hpp"
#include "patchzoo/serve/http_message.hpp"

namespace patchzoo::serve {

namespace http_detail {
namespace http = boost::beast::http;
}

struct http_limits {
  int io_threads = 2;                      // connections' reads and writes (and fast handlers); they never block
  int handler_threads = 16;                // requests handled at once (a handler may wait on the batcher)
  std::size_t max_connections = 512;       // open connections; keep under the process's file limit
  std::size_t max_pending = 1024;          // complete requests waiting for a handler thread
  std::uint64_t max_body_bytes = 16u << 20;  // 16 MiB: 5,000 images as JSON text
  std::uint32_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds read_timeout{5000};   // for one whole request, head and body
  std::chrono::milliseconds write_timeout{5000};  // for one whole response
};

using http_handler = std::function<http_response(const http_request&)>;
// Tried first on the I/O thread that read the request: a response when it can answer without waiting
// (only computing), nothing to hand the request to the handler threads as usual.
using http_fast_handler = std::function<std::optional<http_response>(const http_request&)>;

inline http_response http_error_response(int status, const std::string& message) {
  http_response res;
  res.status = status;
  res.body = "{\"error\":" + json_quote(message) + "}";
  if (status == 503) res.headers.emplace_back("Retry-After", "1");
  return res;
}

class http_server {
 public:
  http_server(http_limits limits, http_handler handler, http_fast_handler fast_handler = {})
      : limits_(limits), handler_(std::move(handler)), fast_handler_(std::move(fast_handler)) {
    check(limits_.io_threads >= 1 && limits_.handler_threads >= 1, "http_server", "io_threads and handler_threads must be >= 1");
    check(limits_.max_connections >= 1 && limits_.max_pending >= 1, "http_server", "max_connections and max_pending must be >= 1");
  }
  ~http_server() { stop(); }
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds host:port (0: any free port), starts the threads and returns the bound port.
  int listen(const std::string& host, int port) {
    namespace net = boost::asio;
    boost::system::error_code ec;
    const net::ip::tcp::endpoint endpoint(net::ip::make_address(host, ec), static_cast<unsigned short>(port));
    check(!ec, "http_server", "'", host, "' is not an IP address: ", ec.message());
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    check(!ec, "http_server", "cannot listen on ", host, ":", port, ": ", ec.message());
    handlers_ = std::make_unique<net::thread_pool>(static_cast<std::size_t>(limits_.handler_threads));
    accept_next();
    for (auto& io : ios_) io_threads_.emplace_back([&io = io->context] { io.run(); });
    return acceptor_.local_endpoint().port();
  }

  // Stops accepting, lets the handlers finish what they hold and their responses go out (a bounded
  // wait), then closes every connection. Safe to call twice.
  void stop() {
    if (stopping_.exchange(true)) return;
    boost::asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    if (handlers_) handlers_->join();  // runs what is queued; responses are posted to the I/O threads
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (writes_in_flight_.load() > 0 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (auto& io : ios_) {
      io->work_guard.reset();
      io->context.stop();
    }
    for (std::thread& t : io_threads_)
      if (t.joinable()) t.join();
  }

  std::size_t open_connections() const { return connections_.load(); }
  std::uint64_t rejected_connections() const { return rejected_connections_.load(); }
  std::uint64_t shed_requests() const { return shed_requests_.load(); }

 private:
  class session;
  using tcp = boost::asio::ip::tcp;

  void accept_next() {
    boost::asio::io_context& owner = ios_[next_io_++ % ios_.size()]->context;
    acceptor_.async_accept(owner, [this](boost::system::error_code ec, tcp::socket socket) {
      if (stopping_) return;
      if (ec) {
        // Out of file descriptors and the like: retry shortly instead of spinning on the error.
        retry_timer_.expires_after(std::chrono::milliseconds(20));
        retry_timer_.async_wait([this](boost::system::error_code) {
          if (!stopping_) accept_next();
        });
        return;
      }
      const bool over_cap = connections_.load() >= limits_.max_connections;
      auto s = std::make_shared<session>(*this, std::move(socket));
      if (over_cap) {
        ++rejected_connections_;
        s->reject(http_error_response(503, "too many connections; retry later"));
      } else {
        s->start();
      }
      accept_next();
    });
  }

  // Queues a complete request for a handler thread; false when max_pending are already waiting.
  bool submit(std::function<void()> job) {
    if (pending_.fetch_add(1) >= limits_.max_pending || stopping_) {
      --pending_;
      ++shed_requests_;
      return false;
    }
    boost::asio::post(*handlers_, [this, job = std::move(job)] {
      --pending_;
      job();
    });
    return true;
  }

  // The fast handler's answer, if it gives one; one that throws gets the last-resort 500.
  std::optional<http_response> try_fast(const http_request& request) const {
    if (!fast_handler_ || stopping_) return std::nullopt;
    try {
      return fast_handler_(request);
    } catch (...) {
    }
    return http_error_response(500, "internal server error");
  }

  // The handler's answer; a handler that throws gets the last-resort 500 (its own errors it answers itself).
  // Nothing only when even that cannot be built (out of memory): the connection is then closed unanswered.
  std::optional<http_response> handle(const http_request& request) const {
    try {
      return handler_(request);
    } catch (...) {
    }
    try {
      return http_error_response(500, "internal server error");
    } catch (...) {
      return std::nullopt;
    }
  }

  class session : public std::enable_shared_from_this<session> {
   public:
    session(http_server& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
      ++server_.connections_;
      boost::system::error_code ec;
      const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
      if (!ec) {
        remote_address_ = remote.address().to_string();
        remote_port_ = remote.port();
      }
      stream_.socket().set_option(tcp::no_delay(true), ec);  // without it keep-alive replies wait ~40 ms (Nagle)
      // Beast reads max(512, free capacity) bytes per read; the parser empties the buffer into the body, so
      // an unreserved buffer takes a 784-float JSON body (8 KB) in 16 reads, each a recvmsg, an epoll_wait
      // and a timer re-arm.
      buffer_.reserve(read_chunk_bytes);
    }
    ~session() { --server_.connections_; }

    void start() { read_request(); }

    void reject(http_response response) {
      keep_alive_ = false;
      write(std::move(response));
    }

   private:
    static constexpr std::size_t read_chunk_bytes = 16u << 10;  // one read takes a whole typical request

    void read_request() {
      parser_.emplace();
      parser_->body_limit(server_.limits_.max_body_bytes);
      parser_->header_limit(server_.limits_.max_header_bytes);
      stream_.expires_after(server_.limits_.read_timeout);
      http_detail::http::async_read(stream_, buffer_, *parser_,
                                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(boost::system::error_code ec) {
      namespace http = http_detail::http;
      if (ec == http::error::body_limit) return reject(http_error_response(413, "request body larger than " + std::to_string(server_.limits_.max_body_bytes) + " bytes"));
      if (ec == http::error::header_limit) return reject(http_error_response(431, "request head larger than " + std::to_string(server_.limits_.max_header_bytes) + " bytes"));
      if (ec && ec != http::error::end_of_stream && &ec.category() == &http::make_error_code(http::error::bad_target).category())
        return reject(http_error_response(400, "malformed HTTP request: " + ec.message()));
      if (ec) return close();  // closed by the client, timed out (slow or idle) or reset: nobody to answer

      auto& message = parser_->get();
      version_ = message.version();
      keep_alive_ = message.keep_alive();
      http_request request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      const std::optional<std::string> path = percent_decode(std::string_view(request.target).substr(0, request.target.find('?')));
      if (!path) return write(http_error_response(400, "path: malformed percent-encoding"));
      request.path = *path;
      for (const auto& field : message) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      request.body = std::move(message.body());
      request.remote_address = remote_address_;
      request.remote_port = remote_port_;
      parser_.reset();

      if (std::optional<http_response> now = server_.try_fast(request)) return write(std::move(*now));
      auto job = [self = shared_from_this(), request = std::move(request)] {
        std::optional<http_response> response = self->server_.handle(request);
        boost::asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
          if (response) self->write(std::move(*response));
          else self->close();
        });
      };
      if (!server_.submit(std::move(job)))
        write(http_error_response(503, server_.stopping_ ? "the server is shutting down" : "server busy: too many requests waiting; retry later"));
    }

    void write(http_response response) {
      namespace http = http_detail::http;
      response_.emplace();
      response_->version(version_);
      response_->result(static_cast<unsigned>(response.status));
      response_->set(http::field::server, "patchzoo");
      response_->set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) response_->set(name, value);
      response_->body() = std::move(response.body);
      response_->keep_alive(keep_alive_);
      response_->prepare_payload();
      ++server_.writes_in_flight_;
      stream_.expires_after(server_.limits_.write_timeout);
      http::async_write(stream_, *response_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        --self->server_.writes_in_flight_;
        if (ec) return self->close();
        if (!self->keep_alive_) return self->drain_and_close();
        self->read_request();
      });
    }

    // After an error answer the client may still be sending (a body over the limit): read and drop what
    // arrives for a moment, so closing does not reset the connection before the client reads the answer.
    void drain_and_close() {
      boost::system::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(std::chrono::seconds(1));  // once: a client trickling bytes is not waited for longer
      drain_buffer_.resize(16384);
      drain();
    }
    void drain() {
      stream_.async_read_some(boost::asio::buffer(drain_buffer_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->drain();
      });
    }

    void close() {
      boost::system::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.socket().close(ignored);
    }

    http_server& server_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<http_detail::http::request_parser<http_detail::http::string_body>> parser_;
    std::optional<http_detail::http::response<http_detail::http::string_body>> response_;
    std::vector<char> drain_buffer_;
    std::string remote_address_;
    int remote_port_ = 0;
    unsigned version_ = 11;
    bool keep_alive_ = true;
  };

  http_limits limits_;
  http_handler handler_;
  http_fast_handler fast_handler_;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::size_t> writes_in_flight_{0};
  std::atomic<std::uint64_t> rejected_connections_{0};
  std::atomic<std::uint64_t> shed_requests_{0};
  std::atomic<bool> stopping_{false};
  // One event loop per I/O thread, run by that thread alone (concurrency hint 1: no waking of other runners).
  struct io_loop {
    boost::asio::io_context context{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_guard{context.get_executor()};
  };
  static std::vector<std::unique_ptr<io_loop>> make_loops(int count) {
    std::vector<std::unique_ptr<io_loop>> loops;
    for (int i = 0; i < std::max(count, 1); ++i) loops.push_back(std::make_unique<io_loop>());
    return loops;
  }
  // Declared after the counters: the sessions still alive in a loop decrement them when it is destroyed.
  std::vector<std::unique_ptr<io_loop>> ios_ = make_loops(limits_.io_threads);
  std::size_t next_io_ = 0;  // the loop the next accepted connection joins; touched by the accept handler only
  tcp::acceptor acceptor_{ios_.front()->context};
  boost::asio::steady_timer retry_timer_{acceptor_.get_executor()};
  std::unique_ptr<boost::asio::thread_pool> handlers_;
  std::vector<std::thread> io_threads_;
};

}  // namespace patchzoo::serve
