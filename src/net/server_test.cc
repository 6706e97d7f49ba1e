#include "net/server.h"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace tapvault::net {
namespace {

TEST(AllowListTest, MatchesFingerprintOrCommonName) {
  std::string fp(64, 'a');
  EXPECT_TRUE(AllowListMatches({}, fp, "x"));
  EXPECT_TRUE(AllowListMatches({"sha256:" + std::string(64, 'A')}, fp, "x"));
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += (i ? ":AA" : "AA");
  EXPECT_TRUE(AllowListMatches({colons}, fp, ""));
  EXPECT_TRUE(AllowListMatches({"CN=med-1"}, fp.substr(1) + "b", "med-1"));
  EXPECT_TRUE(AllowListMatches({"med-1"}, "", "med-1"));
  EXPECT_FALSE(AllowListMatches({"CN=med-2", std::string(64, 'b')}, fp, "med-1"));
  EXPECT_FALSE(AllowListMatches({"CN="}, fp, ""));
}

class Echo : public ConnectionHandler {
 public:
  Echo(std::atomic<int>* closed, std::atomic<bool>* paused) : closed_(closed), paused_(paused) {}
  absl::Status OnData(base::Bytes data, std::string& reply) override {
    std::string_view s = base::AsString(data);
    if (s.find('!') != std::string_view::npos) return absl::FailedPreconditionError("bang");
    reply.append(s);
    return absl::OkStatus();
  }
  bool Paused() const override { return paused_->load(); }
  void OnClose(std::string_view reason) override { closed_->fetch_add(1); }

 private:
  std::atomic<int>* closed_;
  std::atomic<bool>* paused_;
};

TEST(ServerTest, ServesManyConnectionsAndShutsDownCleanly) {
  ASSERT_TRUE(RaiseFileLimit().ok());
  metrics::Registry registry;
  std::atomic<int> closed{0};
  std::atomic<bool> paused{false};
  auto server = Server::Create({.threads = 2, .metrics = &registry}, [&](const PeerInfo&) {
    return std::make_unique<Echo>(&closed, &paused);
  });
  ASSERT_TRUE(server.ok());
  auto port = (*server)->AddListener({.name = "hi2", .host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(port.ok());
  (*server)->Start();
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> socks;
  for (int i = 0; i < 200; ++i) {
    socks.emplace_back(io);
    socks.back().connect({asio::ip::make_address("127.0.0.1"), *port});
  }
  for (int i = 0; i < 200; ++i) {
    std::string msg = "hello" + std::to_string(i);
    asio::write(socks[i], asio::buffer(msg));
    std::string got(msg.size(), '\0');
    asio::read(socks[i], asio::buffer(got.data(), got.size()));
    EXPECT_EQ(got, msg);
  }
  EXPECT_EQ((*server)->open_connections(), 200u);
  // A handler error closes only that connection.
  asio::write(socks[0], asio::buffer(std::string("!")));
  char c;
  asio::error_code ec;
  socks[0].read_some(asio::buffer(&c, 1), ec);
  EXPECT_TRUE(ec);
  std::string msg = "still";
  asio::write(socks[1], asio::buffer(msg));
  std::string got(msg.size(), '\0');
  asio::read(socks[1], asio::buffer(got.data(), got.size()));
  EXPECT_EQ(got, msg);
  (*server)->Shutdown();
  EXPECT_EQ(closed.load(), 200);
  EXPECT_EQ(registry.CounterValue("tapvault_connections_total", {{"listener", "hi2"}}), 200u);
  EXPECT_EQ(registry.CounterValue("tapvault_connections_closed_total",
                                  {{"listener", "hi2"}, {"reason", "stream_broken"}}),
            1u);
  EXPECT_EQ(registry.GaugeValue("tapvault_connections_open"), 0);
}

TEST(ServerTest, IdleTimeoutAndBackpressure) {
  metrics::Registry registry;
  std::atomic<int> closed{0};
  std::atomic<bool> paused{true};
  // The idle timeout leaves a wide margin over the 100 ms pause: on a loaded CI machine the
  // resume and the echo can take a few hundred milliseconds.
  auto server = Server::Create({.threads = 1, .idle_timeout_ms = 1500, .metrics = &registry},
                               [&](const PeerInfo&) { return std::make_unique<Echo>(&closed, &paused); });
  ASSERT_TRUE(server.ok());
  auto port = (*server)->AddListener({.name = "hi3"});
  ASSERT_TRUE(port.ok());
  (*server)->Start();
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), *port});
  asio::write(s, asio::buffer(std::string("abc")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(s.available(), 0u);  // paused: not read, not echoed
  paused = false;
  std::string got(3, '\0');
  asio::read(s, asio::buffer(got.data(), 3));
  EXPECT_EQ(got, "abc");
  // Now silent: closed by the idle timeout.
  char c;
  asio::error_code ec;
  s.read_some(asio::buffer(&c, 1), ec);
  EXPECT_TRUE(ec);
  // The handler hears of the close before the server counts it: wait for the counter itself.
  auto idle_closes = [&] {
    return registry.CounterValue("tapvault_connections_closed_total",
                                 {{"listener", "hi3"}, {"reason", "idle_timeout"}});
  };
  for (int i = 0; i < 500 && idle_closes() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(closed.load(), 1);
  EXPECT_EQ(idle_closes(), 1u);
  (*server)->Shutdown();
}

TEST(ServerTest, BadTlsFilesAreInvalidArgument) {
  metrics::Registry registry;
  auto server = Server::Create({.metrics = &registry}, [](const PeerInfo&) { return nullptr; });
  ASSERT_TRUE(server.ok());
  auto r = (*server)->AddListener(
      {.name = "hi2", .tls = TlsOptions{.cert_file = "/nonexistent", .key_file = "/x", .client_ca_file = "/y"}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

// Keeps the connection's AsyncSender for the test and answers nothing itself.
class Keeper : public ConnectionHandler {
 public:
  Keeper(std::shared_ptr<AsyncSender> sender, std::shared_ptr<AsyncSender>* out,
         std::atomic<int>* closed)
      : closed_(closed) {
    *out = std::move(sender);
  }
  absl::Status OnData(base::Bytes, std::string&) override { return absl::OkStatus(); }
  void OnClose(std::string_view) override { closed_->fetch_add(1); }

 private:
  std::atomic<int>* closed_;
};

TEST(AsyncSenderTest, SendsFromAnotherThreadAndIsNoOpAfterClose) {
  metrics::Registry registry;
  std::atomic<int> closed{0};
  std::shared_ptr<AsyncSender> sender;
  std::atomic<bool> have_sender{false};
  auto server = Server::Create({.threads = 1, .metrics = &registry}, [&](const PeerInfo& p) {
    EXPECT_NE(p.sender, nullptr);
    auto h = std::make_unique<Keeper>(p.sender, &sender, &closed);
    have_sender = true;
    return h;
  });
  ASSERT_TRUE(server.ok());
  auto port = (*server)->AddListener({.name = "hi2"});
  ASSERT_TRUE(port.ok());
  (*server)->Start();
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), *port});
  // The handler exists once the server has seen the connection: poke it until it has.
  for (int i = 0; i < 500 && !have_sender.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(have_sender.load());
  std::thread([&] { sender->Send("late-"); sender->Send("reply"); }).join();
  std::string got(10, '\0');
  asio::read(s, asio::buffer(got.data(), got.size()));
  EXPECT_EQ(got, "late-reply");

  // The peer goes away: the server closes the connection; Send is then a no-op.
  s.close();
  for (int i = 0; i < 500 && closed.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(closed.load(), 1);
  sender->Send("dropped");
  // And after the server (its io_contexts included) is gone.
  server->reset();
  sender->Send("dropped too");
  for (int i = 0; i < 4; ++i) std::thread([&] { sender->Send("x"); }).join();
}

TEST(AsyncSenderTest, SharesTheWriteBacklogLimit) {
  metrics::Registry registry;
  std::atomic<int> closed{0};
  std::shared_ptr<AsyncSender> sender;
  std::atomic<bool> have_sender{false};
  ServerOptions options{.threads = 1, .max_write_backlog_bytes = 1000, .metrics = &registry};
  auto server = Server::Create(options, [&](const PeerInfo& p) {
    auto h = std::make_unique<Keeper>(p.sender, &sender, &closed);
    have_sender = true;
    return h;
  });
  ASSERT_TRUE(server.ok());
  auto port = (*server)->AddListener({.name = "hi3"});
  ASSERT_TRUE(port.ok());
  (*server)->Start();
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), *port});
  for (int i = 0; i < 500 && !have_sender.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(have_sender.load());
  sender->Send(std::string(2000, 'a'));  // over the backlog limit at once: closed
  for (int i = 0; i < 500 && closed.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(closed.load(), 1);
  auto backlog_closes = [&] {
    return registry.CounterValue("tapvault_connections_closed_total",
                                 {{"listener", "hi3"}, {"reason", "write_backlog"}});
  };
  for (int i = 0; i < 500 && backlog_closes() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(backlog_closes(), 1u);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace tapvault::net
