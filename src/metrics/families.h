// Every metric family the product exports, declared once (name, help, labels, buckets) on the
// default registry, so call sites never spell a metric name. Names follow FraiseQL's observers.
// A family is declared here only once some component updates it (docs/metrics.md says which):
// FraiseQL's cache, dedup, DLQ-overflow and config-reload families come back with the issues
// that implement those features.
// Thread-safety: each accessor declares its family on first call (thread-safe static init).
//
// Call sites look a series up once and keep the handle:
//   static metrics::Counter& webhook_ok = metrics::ActionExecutedTotal().WithLabels({"webhook"});
//   webhook_ok.Increment();
//   metrics::BacklogSize().Get().Set(queue.size());
#pragma once

#include "metrics/registry.h"

namespace fraiseql::metrics {

// Buckets, in seconds, of the two duration histograms.
inline constexpr double kActionDurationBuckets[] = {0.001, 0.01, 0.1, 1, 5, 10, 30, 60};
inline constexpr double kJobDurationBuckets[] = {0.001, 0.01, 0.1, 1, 5, 10, 30, 60, 300};

// Declares every family below on the default registry, so /metrics lists them all (HELP, TYPE,
// and 0 for label-less ones) from startup rather than from each one's first use. Call it once
// early in main; calling it again is harmless.
void DeclareAllFamilies();

// Each accessor is its metric's name in CamelCase without "fraiseql_observer_" (e.g.
// EventsProcessedTotal is fraiseql_observer_events_processed_total); comments give label names.

// Events.
CounterFamily& EventsProcessedTotal();
CounterFamily& EventsFailedTotal();  // {error_type}
CounterFamily& EventsDeserializationFailuresTotal();

// Actions.
CounterFamily& ActionExecutedTotal();      // {action_type}
HistogramFamily& ActionDurationSeconds();  // {action_type}, kActionDurationBuckets
CounterFamily& ActionErrorsTotal();        // {action_type, error_type}

// Delivery engine.
CounterFamily& DeliveryAttemptsTotal();  // {action_type, outcome}: success | retryable | permanent
GaugeFamily& DeliveriesInFlight();
GaugeFamily& CircuitState();             // {target}: 0 closed, 1 open, 2 half-open

// Backlog and dead-letter queue.
GaugeFamily& BacklogSize();
GaugeFamily& DlqItems();

// Job queue.
CounterFamily& JobQueuedTotal();
CounterFamily& JobExecutedTotal();       // {action_type}
CounterFamily& JobFailedTotal();         // {action_type, error_type}
HistogramFamily& JobDurationSeconds();   // {action_type}, kJobDurationBuckets
CounterFamily& JobRetryAttemptsTotal();  // {action_type}
GaugeFamily& JobQueueDepth();
GaugeFamily& JobDlqItems();

// Conditions.
CounterFamily& ConditionErrorsTotal();  // {observer}

}  // namespace fraiseql::metrics

// Listener (src/listener): the gapless change-log reader's progress.
namespace fraiseql::metrics {

inline constexpr double kListenerBatchSizeBuckets[] = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
inline constexpr double kListenerFetchBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1,    2.5};

GaugeFamily& ListenerLagSeconds();        // now() - created_at of the oldest committed row not yet read
HistogramFamily& ListenerBatchSize();     // rows per committed batch, kListenerBatchSizeBuckets
HistogramFamily& ListenerFetchSeconds();  // one change-log read, kListenerFetchBuckets
CounterFamily& ListenerBatchesSplitTotal();  // batches the database refused, read again smaller
GaugeFamily& ListenerLeading();                // 1 while this process holds the lease, else 0
CounterFamily& ListenerLeaseAcquisitionsTotal();  // times this process took the lease

}  // namespace fraiseql::metrics
