// ConnectionTable: the caps, the eviction choice and the deadlines, on explicit time points.
#include "http/connection_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql::http_internal {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Verdict = ConnectionTable::Verdict;

const SteadyTime kStart = SteadyTime() + 1h;

ConnectionLimits Limits(size_t total, size_t per_address) { return ConnectionLimits{total, per_address, 10s}; }

TEST(ConnectionTableTest, AdmitsUpToThePerAddressCapAndCountsEachAddressApart) {
  ConnectionTable table(Limits(100, 2));
  EXPECT_EQ(table.Admit(1, "10.0.0.1", kStart).verdict, Verdict::kAdmitted);
  EXPECT_EQ(table.Admit(2, "10.0.0.1", kStart).verdict, Verdict::kAdmitted);
  EXPECT_EQ(table.Admit(3, "10.0.0.1", kStart).verdict, Verdict::kOverAddressCap);
  EXPECT_EQ(table.Admit(4, "10.0.0.2", kStart).verdict, Verdict::kAdmitted);
  EXPECT_EQ(table.open(), 3u);
  table.Remove(1);
  EXPECT_EQ(table.Admit(5, "10.0.0.1", kStart).verdict, Verdict::kAdmitted);
}

TEST(ConnectionTableTest, WhenFullTheConnectionReadingLongestIsGivenUp) {
  ConnectionTable table(Limits(3, 10));
  table.Admit(1, "a", kStart);
  table.Admit(2, "b", kStart + 1s);
  table.Admit(3, "c", kStart + 2s);
  // 1 is being answered, 2 has read longest of the rest.
  table.Enter(1, ConnectionPhase::kHandling, kStart + 3s);
  const ConnectionTable::Admission admission = table.Admit(4, "d", kStart + 4s);
  EXPECT_EQ(admission.verdict, Verdict::kAdmitted);
  EXPECT_EQ(admission.evict, 2u);
  EXPECT_EQ(table.open(), 3u);
  EXPECT_EQ(table.known(), 4u);  // 2 until its close is reported
  table.Remove(2);
  EXPECT_EQ(table.known(), 3u);
  EXPECT_EQ(table.open(), 3u);
}

TEST(ConnectionTableTest, WhenFullTheAddressHoldingMostConnectionsGivesOneUp) {
  ConnectionTable table(Limits(4, 10));
  table.Admit(1, "probe", kStart);  // the oldest of all, but its address holds one
  table.Admit(2, "many", kStart + 1s);
  table.Admit(3, "many", kStart + 2s);
  table.Admit(4, "few", kStart + 3s);
  EXPECT_EQ(table.Admit(5, "new", kStart + 4s).evict, 2u);
  // "many" now holds one, as every other: the oldest reader goes.
  EXPECT_EQ(table.Admit(6, "new2", kStart + 5s).evict, 1u);
}

// The flake of the abuse suite (ChunkedBodiesFarOverTheLimitAre413): attackers from many
// addresses, one connection each, waiting long; the probe's address holds two, one of them just
// connected, its request on its way. The attackers make room, not the probe.
TEST(ConnectionTableTest, AReaderPastTheGraceMakesRoomBeforeANewerOneWhateverItsAddressHolds) {
  ConnectionTable table(Limits(4, 10));  // grace: 1 s
  ASSERT_EQ(table.grace(), 1s);
  table.Admit(1, "attacker-1", kStart);
  table.Admit(2, "attacker-2", kStart + 1s);
  table.Admit(3, "probe", kStart + 5s);
  table.Enter(3, ConnectionPhase::kHandling, kStart + 5s);
  table.Admit(4, "probe", kStart + 6s);  // connected; its request not read yet
  EXPECT_EQ(table.Admit(5, "attacker-3", kStart + 6s + 500ms).evict, 1u);
  EXPECT_EQ(table.Admit(6, "attacker-4", kStart + 6s + 600ms).evict, 2u);
}

TEST(ConnectionTableTest, WhenEveryReaderIsWithinTheGraceTheAddressHoldingMostGivesOneUp) {
  // A burst of new connections from few addresses: the lone probe keeps its connection.
  ConnectionTable table(Limits(4, 10));
  table.Admit(1, "probe", kStart);
  table.Admit(2, "burst", kStart + 100ms);
  table.Admit(3, "burst", kStart + 200ms);
  table.Admit(4, "burst", kStart + 300ms);
  EXPECT_EQ(table.Admit(5, "burst", kStart + 400ms).evict, 2u);
  EXPECT_EQ(table.Admit(6, "burst", kStart + 500ms).evict, 3u);
}

TEST(ConnectionTableTest, ADrainingConnectionMakesRoomFirst) {
  ConnectionTable table(Limits(4, 10));
  table.Admit(1, "idle", kStart);
  table.Admit(2, "refused", kStart + 5s);
  table.Admit(3, "refused", kStart + 6s);
  table.Admit(4, "new", kStart + 7s);
  // Refused in the middle of their bodies; 3 first, so it has drained longest.
  table.Enter(3, ConnectionPhase::kDraining, kStart + 7s);
  table.Enter(2, ConnectionPhase::kDraining, kStart + 7s);
  // Draining does not extend the deadline the request had (2's, at kStart + 15s, comes first).
  EXPECT_EQ(table.NextDeadline(), kStart + 10s);
  EXPECT_EQ(table.Admit(5, "next", kStart + 8s).evict, 2u);
  EXPECT_EQ(table.Admit(6, "next2", kStart + 8s).evict, 3u);
  // Then the readers again: the idle one, waiting longest.
  EXPECT_EQ(table.Admit(7, "next3", kStart + 9s).evict, 1u);
}

TEST(ConnectionTableTest, ADrainingConnectionServesNothingMore) {
  ConnectionTable table(Limits(10, 10));
  table.Admit(1, "a", kStart);
  table.Enter(1, ConnectionPhase::kDraining, kStart + 1s);
  table.Enter(1, ConnectionPhase::kReading, kStart + 2s);  // the request ended: ignored
  EXPECT_EQ(table.NextDeadline(), kStart + 10s);
  EXPECT_THAT(table.TakeOverdue(kStart + 10s), ElementsAre(1u));
}

TEST(ConnectionTableTest, AnsweringCountsConnectionsHandledOrWritten) {
  ConnectionTable table(Limits(10, 10));
  table.Admit(1, "a", kStart);
  table.Admit(2, "a", kStart);
  table.Admit(3, "a", kStart);
  EXPECT_EQ(table.answering(), 0u);
  table.Enter(1, ConnectionPhase::kHandling, kStart);
  table.Enter(2, ConnectionPhase::kHandling, kStart);
  table.Enter(3, ConnectionPhase::kDraining, kStart);
  EXPECT_EQ(table.answering(), 2u);
  table.Enter(1, ConnectionPhase::kWriting, kStart + 1s);
  EXPECT_EQ(table.answering(), 2u);
  table.Enter(1, ConnectionPhase::kReading, kStart + 2s);  // written
  EXPECT_EQ(table.answering(), 1u);
  table.Enter(2, ConnectionPhase::kWriting, kStart + 2s);
  EXPECT_THAT(table.TakeOverdue(kStart + 12s), ElementsAre(3u, 1u, 2u));  // 2 never took its answer
  EXPECT_EQ(table.answering(), 0u);
}

TEST(ConnectionTableTest, AnAddressWhoseConnectionsAreAllBeingAnsweredKeepsThem) {
  ConnectionTable table(Limits(3, 10));
  table.Admit(1, "busy", kStart);
  table.Admit(2, "busy", kStart);
  table.Admit(3, "idle", kStart + 1s);
  table.Enter(1, ConnectionPhase::kHandling, kStart + 1s);
  table.Enter(2, ConnectionPhase::kWriting, kStart + 1s);
  EXPECT_EQ(table.Admit(4, "new", kStart + 2s).evict, 3u);
}

TEST(ConnectionTableTest, AKeepAliveConnectionReadingAgainQueuesBehindOlderReaders) {
  ConnectionTable table(Limits(2, 10));
  table.Admit(1, "a", kStart);
  table.Admit(2, "b", kStart + 1s);
  // 1 got its answer and waits for its next request: that wait starts now.
  table.Enter(1, ConnectionPhase::kWriting, kStart + 2s);
  table.Enter(1, ConnectionPhase::kReading, kStart + 3s);
  EXPECT_EQ(table.Admit(3, "c", kStart + 4s).evict, 2u);
}

TEST(ConnectionTableTest, WhenFullAndNoneIsReadingTheNewOneIsRefused) {
  ConnectionTable table(Limits(2, 10));
  table.Admit(1, "a", kStart);
  table.Admit(2, "b", kStart);
  table.Enter(1, ConnectionPhase::kHandling, kStart);
  table.Enter(2, ConnectionPhase::kWriting, kStart);
  const ConnectionTable::Admission admission = table.Admit(3, "c", kStart);
  EXPECT_EQ(admission.verdict, Verdict::kOverTotalCap);
  EXPECT_FALSE(admission.evict.has_value());
  EXPECT_EQ(table.known(), 2u);
}

TEST(ConnectionTableTest, DeadlinesRunWhileReadingAndWritingNotWhileHandling) {
  ConnectionTable table(Limits(10, 10));
  table.Admit(1, "a", kStart);       // reading until kStart + 10s
  table.Admit(2, "a", kStart + 1s);  // handled from kStart + 2s: no deadline
  table.Admit(3, "a", kStart + 1s);  // writing from kStart + 5s: until kStart + 15s
  table.Enter(2, ConnectionPhase::kHandling, kStart + 2s);
  table.Enter(3, ConnectionPhase::kWriting, kStart + 5s);
  EXPECT_EQ(table.NextDeadline(), kStart + 10s);
  EXPECT_THAT(table.TakeOverdue(kStart + 10s - 1ms), IsEmpty());
  EXPECT_THAT(table.TakeOverdue(kStart + 10s), ElementsAre(1u));
  EXPECT_THAT(table.TakeOverdue(kStart + 10s), IsEmpty());  // each once
  EXPECT_EQ(table.NextDeadline(), kStart + 15s);
  EXPECT_THAT(table.TakeOverdue(kStart + 1h), ElementsAre(3u));
  EXPECT_EQ(table.NextDeadline(), std::nullopt);
  EXPECT_EQ(table.open(), 1u);  // 2, still being handled
}

TEST(ConnectionTableTest, GivenUpConnectionsNoLongerCountOrChangePhase) {
  ConnectionTable table(Limits(10, 1));
  table.Admit(1, "a", kStart);
  EXPECT_THAT(table.TakeOverdue(kStart + 10s), ElementsAre(1u));
  EXPECT_EQ(table.open(), 0u);
  EXPECT_EQ(table.Admit(2, "a", kStart + 10s).verdict, Verdict::kAdmitted);  // the address slot is free
  table.Enter(1, ConnectionPhase::kReading, kStart + 11s);                   // ignored
  EXPECT_EQ(table.NextDeadline(), kStart + 20s);
  table.Remove(1);
  table.Remove(1);
  table.Remove(99);
  EXPECT_EQ(table.open(), 1u);
  EXPECT_EQ(table.known(), 1u);
}

sockaddr_in6 V6(const char* text) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  ::inet_pton(AF_INET6, text, &address.sin6_addr);
  return address;
}

TEST(DescribeClientTest, IPv4IsCountedByAddressIPv6ByItsSlash64) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  ::inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
  const ClientAddress four = DescribeClient(reinterpret_cast<const sockaddr*>(&v4));
  EXPECT_EQ(four.text, "192.0.2.7");
  EXPECT_EQ(four.key, "192.0.2.7");

  const sockaddr_in6 a = V6("2001:db8:1:2::1");
  const sockaddr_in6 b = V6("2001:db8:1:2:ffff::9");
  const sockaddr_in6 c = V6("2001:db8:1:3::1");
  EXPECT_EQ(DescribeClient(reinterpret_cast<const sockaddr*>(&a)).text, "2001:db8:1:2::1");
  EXPECT_EQ(DescribeClient(reinterpret_cast<const sockaddr*>(&a)).key, "2001:db8:1:2::/64");
  EXPECT_EQ(DescribeClient(reinterpret_cast<const sockaddr*>(&b)).key, "2001:db8:1:2::/64");
  EXPECT_EQ(DescribeClient(reinterpret_cast<const sockaddr*>(&c)).key, "2001:db8:1:3::/64");

  const sockaddr_in6 mapped = V6("::ffff:192.0.2.7");
  EXPECT_EQ(DescribeClient(reinterpret_cast<const sockaddr*>(&mapped)).text, "192.0.2.7");
  EXPECT_EQ(DescribeClient(reinterpret_cast<const sockaddr*>(&mapped)).key, "192.0.2.7");
  EXPECT_EQ(DescribeClient(nullptr).key, "unknown");
}

}  // namespace
}  // namespace fraiseql::http_internal
