// ShutdownSignals with real signals. Every test constructs them on the main thread before starting
// any thread, as the daemon does, so a process-directed signal can only end up in a Wait().
#include "app/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stop_token>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "testing/poll.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

bool Blocked(int signal) {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, signal) == 1;
}

bool SigpipeIgnored() {
  struct sigaction current {};
  sigaction(SIGPIPE, nullptr, &current);
  return current.sa_handler == SIG_IGN;
}

std::chrono::steady_clock::time_point In(std::chrono::milliseconds delay) {
  return std::chrono::steady_clock::now() + delay;
}

TEST(ShutdownSignalsTest, RaisedSigtermIsReturnedOnce) {
  ShutdownSignals signals;
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_EQ(signals.Wait({}, In(10s)), SIGTERM);
  // Consumed: nothing left to report.
  EXPECT_EQ(signals.Wait({}, In(20ms)), std::nullopt);
}

TEST(ShutdownSignalsTest, ProcessDirectedSigintReachesAWaiterOnAnotherThread) {
  ShutdownSignals signals;
  std::optional<int> seen;
  std::thread waiter([&] { seen = signals.Wait({}, In(10s)); });
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  waiter.join();
  EXPECT_EQ(seen, SIGINT);
}

TEST(ShutdownSignalsTest, TwoSignalsAreTwoWaits) {
  ShutdownSignals signals;
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  std::optional<int> first = signals.Wait({}, In(10s));
  std::optional<int> second = signals.Wait({}, In(10s));
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_TRUE((*first == SIGINT && *second == SIGTERM) || (*first == SIGTERM && *second == SIGINT));
}

TEST(ShutdownSignalsTest, StopRequestEndsTheWait) {
  ShutdownSignals signals;
  std::stop_source stop;
  std::optional<int> seen = 0;
  std::thread waiter([&] { seen = signals.Wait(stop.get_token()); });  // no deadline at all
  stop.request_stop();
  waiter.join();
  EXPECT_EQ(seen, std::nullopt);

  // The wake-up of that stop does not leak into the next Wait.
  EXPECT_EQ(signals.Wait({}, In(20ms)), std::nullopt);
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_EQ(signals.Wait(std::stop_source().get_token(), In(10s)), SIGTERM);
}

TEST(ShutdownSignalsTest, AlreadyStoppedReturnsAtOnceButAPendingSignalWins) {
  ShutdownSignals signals;
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(signals.Wait(stop.get_token()), std::nullopt);
  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_EQ(signals.Wait(stop.get_token()), SIGINT);
}

TEST(ShutdownSignalsTest, DeadlineEndsTheWait) {
  ShutdownSignals signals;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(signals.Wait({}, In(50ms)), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(signals.Wait({}, In(-1s)), std::nullopt);
}

TEST(ShutdownSignalsTest, MaskAndSigpipeAreRestored) {
  ASSERT_FALSE(Blocked(SIGTERM));
  ASSERT_FALSE(SigpipeIgnored());
  {
    ShutdownSignals signals;
    EXPECT_TRUE(Blocked(SIGTERM));
    EXPECT_TRUE(Blocked(SIGINT));
    EXPECT_TRUE(SigpipeIgnored());
    // A thread started now inherits the mask, so it cannot take the signal by default action.
    bool thread_blocked = false;
    std::thread([&] { thread_blocked = Blocked(SIGTERM) && Blocked(SIGINT); }).join();
    EXPECT_TRUE(thread_blocked);
  }
  EXPECT_FALSE(Blocked(SIGTERM));
  EXPECT_FALSE(Blocked(SIGINT));
  EXPECT_FALSE(SigpipeIgnored());
}

TEST(ShutdownSignalsTest, ASignalLeftPendingIsDrainedNotFatal) {
  {
    ShutdownSignals signals;
    ASSERT_EQ(raise(SIGTERM), 0);
    // Never waited for: the destructor must swallow it before unblocking, or this test dies.
  }
  EXPECT_FALSE(Blocked(SIGTERM));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGTERM), 0);
}

TEST(ShutdownSignalsTest, WaitForeverReturnsTheSignal) {
  ShutdownSignals signals;
  // Started after `signals`, the sender has the signal blocked too: only the Wait() can take it.
  std::thread sender([] { kill(getpid(), SIGTERM); });
  EXPECT_EQ(signals.Wait(), SIGTERM);
  sender.join();
}

TEST(ShutdownSignalsTest, NestedInstancesLeaveTheOuterOneItsSignals) {
  ShutdownSignals outer;
  {
    ShutdownSignals inner;
    ASSERT_EQ(raise(SIGINT), 0);
  }
  // The inner one's destructor did not discard it: the mask it restored still blocks SIGINT.
  EXPECT_TRUE(Blocked(SIGINT));
  EXPECT_TRUE(SigpipeIgnored());
  EXPECT_EQ(outer.Wait({}, In(10s)), SIGINT);
}

TEST(ShutdownSignalsTest, StopFromAnotherThreadWhileWaiting) {
  ShutdownSignals signals;
  for (int i = 0; i < 50; ++i) {
    std::stop_source stop;
    std::thread stopper([&stop] { stop.request_stop(); });
    EXPECT_EQ(signals.Wait(stop.get_token()), std::nullopt);
    stopper.join();
  }
  // No wake-up left behind cuts this one short.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(signals.Wait({}, In(30ms)), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(ShutdownSignalsTest, SigquitStopsAsSigtermDoes) {
  ShutdownSignals signals;
  ASSERT_EQ(kill(getpid(), SIGQUIT), 0);
  EXPECT_EQ(signals.Wait({}, In(10s)), SIGQUIT);
}

TEST(ShutdownSignalsTest, SighupStopsACommandRunByHand) {
  ShutdownSignals signals(HangUp::kStops);
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  EXPECT_EQ(signals.Wait({}, In(10s)), SIGHUP);
}

TEST(ShutdownSignalsTest, SighupIsLoggedAndIgnoredByADaemonWhichStillStopsOnSigterm) {
  log::ScopedCapture capture;
  ShutdownSignals signals(HangUp::kLoggedAndIgnored);
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  EXPECT_EQ(signals.Wait({}, In(50ms)), std::nullopt);
  ASSERT_EQ(capture.lines().size(), 1u);
  EXPECT_NE(capture.lines()[0].text.find("SIGHUP received: configuration reload is not supported"), std::string::npos);
  // Also while waiting for ever: the SIGHUP is logged, the SIGTERM after it ends the wait.
  std::optional<int> seen;
  std::thread waiter([&] { seen = signals.Wait(); });
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(testing::PollUntil([&] { return capture.lines().size() == 2; }));
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  waiter.join();
  EXPECT_EQ(seen, SIGTERM);
}

TEST(ShutdownSignalsTest, SigpipeIsIgnoredNotFatal) {
  ShutdownSignals signals;
  ASSERT_EQ(kill(getpid(), SIGPIPE), 0);  // would end the process with its default action
  EXPECT_EQ(signals.Wait({}, In(20ms)), std::nullopt);
}

TEST(SignalNameTest, NamesTheUsualOnes) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGINT), "SIGINT");
  EXPECT_THAT(SignalName(SIGUSR1), HasSubstr("signal "));
}

}  // namespace
}  // namespace fraiseql
