// ClientLimits on its own, with a clock the test moves: concurrency, the token bucket, the
// connection count, both clients of a request, and forgetting idle clients.
#include "worker/http/client_limits.h"

#include <gtest/gtest.h>

namespace http {
namespace {

using namespace std::chrono_literals;
using Clock = ClientLimits::Clock;

const std::vector<std::string> kAlice = ClientLimits::ClientsOf("10.0.0.1", std::nullopt);

TEST(ClientLimits, ConcurrencyIsGivenBackWhenTheTicketGoes) {
  ClientLimits limits({.concurrency = 2});
  const auto now = Clock::now();
  ClientLimits::Refusal refusal;
  auto first = limits.AdmitRequest(kAlice, now, refusal);
  auto second = limits.AdmitRequest(kAlice, now, refusal);
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(limits.AdmitRequest(kAlice, now, refusal));
  EXPECT_EQ(refusal.limit, "concurrency");
  EXPECT_EQ(refusal.client, "address 10.0.0.1");
  EXPECT_EQ(refusal.retry_after, 1s);
  EXPECT_TRUE(limits.AdmitRequest(ClientLimits::ClientsOf("10.0.0.2", std::nullopt), now, refusal))
      << "another client is not affected";
  first.reset();
  EXPECT_TRUE(limits.AdmitRequest(kAlice, now, refusal)) << "a finished request frees its slot";
}

TEST(ClientLimits, RateIsATokenBucketThatRefillsWithTime) {
  ClientLimits limits({.rate = 2, .burst = 4});
  const auto start = Clock::now();
  ClientLimits::Refusal refusal;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limits.AdmitRequest(kAlice, start, refusal)) << "the burst, at once: " << i;
  EXPECT_FALSE(limits.AdmitRequest(kAlice, start, refusal));
  EXPECT_EQ(refusal.limit, "rate");
  EXPECT_EQ(refusal.retry_after, 1s) << "half a second to the next token, rounded up";
  EXPECT_FALSE(limits.AdmitRequest(kAlice, start + 400ms, refusal)) << "0.8 of a token";
  EXPECT_TRUE(limits.AdmitRequest(kAlice, start + 500ms, refusal));
  EXPECT_TRUE(limits.AdmitRequest(kAlice, start + 1500ms, refusal));
  EXPECT_TRUE(limits.AdmitRequest(kAlice, start + 1500ms, refusal));
  EXPECT_FALSE(limits.AdmitRequest(kAlice, start + 1500ms, refusal));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limits.AdmitRequest(kAlice, start + 60s, refusal)) << "full again, no more";
  EXPECT_FALSE(limits.AdmitRequest(kAlice, start + 60s, refusal));
}

TEST(ClientLimits, RetryAfterSaysWhenTheNextTokenComes) {
  ClientLimits limits({.rate = 0.25});  // one request every four seconds
  const auto now = Clock::now();
  ClientLimits::Refusal refusal;
  EXPECT_TRUE(limits.AdmitRequest(kAlice, now, refusal));
  EXPECT_FALSE(limits.AdmitRequest(kAlice, now + 1s, refusal));
  EXPECT_EQ(refusal.retry_after, 3s);
}

// A request counts against its address and its key; either one's limit refuses it, and a refused
// request takes nothing from the other.
TEST(ClientLimits, ARequestNeedsRoomUnderItsAddressAndItsKey) {
  ClientLimits limits({.concurrency = 1});
  const auto now = Clock::now();
  const auto alice_key = ClientLimits::ClientsOf("10.0.0.1", "secret-a");
  const auto bob_with_alices_key = ClientLimits::ClientsOf("10.0.0.2", "secret-a");
  ASSERT_EQ(alice_key.size(), 2u);
  EXPECT_EQ(alice_key[1].find("secret"), std::string::npos) << "the key is named by a digest: " << alice_key[1];
  ClientLimits::Refusal refusal;
  auto held = limits.AdmitRequest(alice_key, now, refusal);
  ASSERT_TRUE(held);
  EXPECT_FALSE(limits.AdmitRequest(bob_with_alices_key, now, refusal));
  EXPECT_EQ(refusal.client, alice_key[1]) << "the key's limit, from another address";
  EXPECT_FALSE(limits.AdmitRequest(kAlice, now, refusal));
  EXPECT_EQ(refusal.client, "address 10.0.0.1") << "the address's limit, without the key";
  held.reset();
  EXPECT_TRUE(limits.AdmitRequest(bob_with_alices_key, now, refusal)) << "the refusals took nothing";
}

TEST(ClientLimits, ConnectionsPerAddress) {
  ClientLimits limits({.connections = 2});
  const auto now = Clock::now();
  ClientLimits::Refusal refusal;
  auto a = limits.AdmitConnection("10.0.0.1", now, refusal);
  auto b = limits.AdmitConnection("10.0.0.1", now, refusal);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limits.AdmitConnection("10.0.0.1", now, refusal));
  EXPECT_EQ(refusal.limit, "connections");
  EXPECT_TRUE(limits.AdmitConnection("10.0.0.2", now, refusal));
  EXPECT_TRUE(limits.AdmitRequest(kAlice, now, refusal)) << "connections and requests are counted apart";
  b.reset();
  EXPECT_TRUE(limits.AdmitConnection("10.0.0.1", now, refusal));
}

// Memory stays bounded: idle clients are forgotten to make room; when every tracked client is
// busy, newcomers are let through untracked rather than refused.
TEST(ClientLimits, IdleClientsAreForgottenAndNewcomersBeyondTheTableGoUntracked) {
  ClientLimits limits({.concurrency = 1, .max_clients = 2});
  const auto now = Clock::now();
  ClientLimits::Refusal refusal;
  auto busy1 = limits.AdmitRequest(ClientLimits::ClientsOf("10.0.0.1", std::nullopt), now, refusal);
  { auto idle = limits.AdmitRequest(ClientLimits::ClientsOf("10.0.0.2", std::nullopt), now, refusal); }
  EXPECT_EQ(limits.tracked(), 2u);
  auto busy3 = limits.AdmitRequest(ClientLimits::ClientsOf("10.0.0.3", std::nullopt), now, refusal);
  ASSERT_TRUE(busy3);
  EXPECT_EQ(limits.tracked(), 2u) << "10.0.0.2 was forgotten";
  const auto fourth = ClientLimits::ClientsOf("10.0.0.4", std::nullopt);
  auto untracked1 = limits.AdmitRequest(fourth, now, refusal);
  auto untracked2 = limits.AdmitRequest(fourth, now, refusal);
  EXPECT_TRUE(untracked1 && untracked2);
  EXPECT_EQ(limits.tracked(), 2u);
}

}  // namespace
}  // namespace http
