#include "metrics/families.h"

#include <span>
#include <vector>

namespace fraiseql::metrics {
namespace {

std::vector<double> Buckets(std::span<const double> bounds) {
  return std::vector<double>(bounds.begin(), bounds.end());
}

}  // namespace

void DeclareAllFamilies() {
  EventsProcessedTotal();
  EventsFailedTotal();
  EventsDeserializationFailuresTotal();
  ActionExecutedTotal();
  ActionDurationSeconds();
  ActionErrorsTotal();
  DeliveryAttemptsTotal();
  DeliveriesInFlight();
  CircuitState();
  BacklogSize();
  DlqItems();
  JobQueuedTotal();
  JobExecutedTotal();
  JobFailedTotal();
  JobDurationSeconds();
  JobRetryAttemptsTotal();
  JobQueueDepth();
  JobDlqItems();
  ConditionErrorsTotal();
  ListenerLagSeconds();
  ListenerBatchSize();
  ListenerFetchSeconds();
  ListenerBatchesSplitTotal();
  ListenerLeading();
  ListenerLeaseAcquisitionsTotal();
}

CounterFamily& EventsProcessedTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_events_processed_total", "Total number of change-log events processed.");
  return family;
}

CounterFamily& EventsFailedTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_events_failed_total",
      "Total events that failed processing, by error type.", {"error_type"});
  return family;
}

CounterFamily& EventsDeserializationFailuresTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_events_deserialization_failures_total",
      "Total change-log rows that could not be decoded into an event.");
  return family;
}

CounterFamily& ActionExecutedTotal() {
  static CounterFamily& family =
      DefaultRegistry().AddCounter("fraiseql_observer_action_executed_total",
                                   "Total actions executed, by action type.", {"action_type"});
  return family;
}

HistogramFamily& ActionDurationSeconds() {
  static HistogramFamily& family =
      DefaultRegistry().AddHistogram("fraiseql_observer_action_duration_seconds",
                                     "Action execution duration in seconds, by action type.",
                                     {"action_type"}, Buckets(kActionDurationBuckets));
  return family;
}

CounterFamily& ActionErrorsTotal() {
  static CounterFamily& family =
      DefaultRegistry().AddCounter("fraiseql_observer_action_errors_total",
                                   "Total action execution errors, by action type and error type.",
                                   {"action_type", "error_type"});
  return family;
}

GaugeFamily& BacklogSize() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_backlog_size", "Current number of events waiting to be processed.");
  return family;
}

GaugeFamily& DlqItems() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_dlq_items", "Current number of items in the dead letter queue.");
  return family;
}

CounterFamily& JobQueuedTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter("fraiseql_observer_job_queued_total",
                                                              "Total jobs put on the job queue.");
  return family;
}

CounterFamily& JobExecutedTotal() {
  static CounterFamily& family =
      DefaultRegistry().AddCounter("fraiseql_observer_job_executed_total",
                                   "Total jobs executed, by action type.", {"action_type"});
  return family;
}

CounterFamily& JobFailedTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_job_failed_total", "Total jobs failed, by action type and error type.",
      {"action_type", "error_type"});
  return family;
}

HistogramFamily& JobDurationSeconds() {
  static HistogramFamily& family =
      DefaultRegistry().AddHistogram("fraiseql_observer_job_duration_seconds",
                                     "Job execution duration in seconds, by action type.",
                                     {"action_type"}, Buckets(kJobDurationBuckets));
  return family;
}

CounterFamily& JobRetryAttemptsTotal() {
  static CounterFamily& family =
      DefaultRegistry().AddCounter("fraiseql_observer_job_retry_attempts_total",
                                   "Total job retry attempts, by action type.", {"action_type"});
  return family;
}

GaugeFamily& JobQueueDepth() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_job_queue_depth", "Current number of jobs waiting in the job queue.");
  return family;
}

GaugeFamily& JobDlqItems() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_job_dlq_items", "Current number of failed jobs in the dead letter queue.");
  return family;
}

CounterFamily& ConditionErrorsTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_condition_errors_total",
      "Total errors evaluating an observer's condition, by observer.", {"observer"});
  return family;
}

CounterFamily& DeliveryAttemptsTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_delivery_attempts_total",
      "Delivery attempts, by action type and outcome (success, retryable, permanent).",
      {"action_type", "outcome"});
  return family;
}

GaugeFamily& DeliveriesInFlight() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_deliveries_in_flight", "Delivery attempts currently in flight.");
  return family;
}

GaugeFamily& CircuitState() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_circuit_state",
      "Circuit breaker state per destination: 0 closed, 1 open, 2 half-open.", {"target"});
  return family;
}

}  // namespace fraiseql::metrics

// Listener (src/listener).
namespace fraiseql::metrics {

GaugeFamily& ListenerLagSeconds() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_listener_lag_seconds",
      "Seconds the oldest committed change-log row not yet read has been waiting (0 when caught up).");
  return family;
}

HistogramFamily& ListenerBatchSize() {
  static HistogramFamily& family = DefaultRegistry().AddHistogram(
      "fraiseql_observer_listener_batch_size", "Change-log rows per batch handed off to the job queue.", {},
      Buckets(kListenerBatchSizeBuckets));
  return family;
}

HistogramFamily& ListenerFetchSeconds() {
  static HistogramFamily& family = DefaultRegistry().AddHistogram(
      "fraiseql_observer_listener_fetch_seconds", "Duration of one change-log read, in seconds.", {},
      Buckets(kListenerFetchBuckets));
  return family;
}

CounterFamily& ListenerBatchesSplitTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_listener_batches_split_total",
      "Change-log batches the database refused, read again in smaller batches to isolate the rows at fault.");
  return family;
}

GaugeFamily& ListenerLeading() {
  static GaugeFamily& family = DefaultRegistry().AddGauge(
      "fraiseql_observer_listener_leading",
      "1 while this process holds its listener id's lease and reads the change log, 0 while it waits as a standby.");
  return family;
}

CounterFamily& ListenerLeaseAcquisitionsTotal() {
  static CounterFamily& family = DefaultRegistry().AddCounter(
      "fraiseql_observer_listener_lease_acquisitions_total",
      "Times this process took its listener id's lease (the log line 'listener leads' says why).");
  return family;
}

}  // namespace fraiseql::metrics
