// Every metric family the product exports, declared once (name, help, labels, buckets) on the
// default registry, so call sites never spell a metric name. Names follow FraiseQL's observers.
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

// Result cache.
CounterFamily& CacheHitsTotal();
CounterFamily& CacheMissesTotal();
CounterFamily& CacheEvictionsTotal();

// Deduplication.
CounterFamily& DedupDetectedTotal();
CounterFamily& DedupProcessingSkippedTotal();

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
CounterFamily& DlqOverflowTotal();

// Job queue.
CounterFamily& JobQueuedTotal();
CounterFamily& JobExecutedTotal();       // {action_type}
CounterFamily& JobFailedTotal();         // {action_type, error_type}
HistogramFamily& JobDurationSeconds();   // {action_type}, kJobDurationBuckets
CounterFamily& JobRetryAttemptsTotal();  // {action_type}
GaugeFamily& JobQueueDepth();
GaugeFamily& JobDlqItems();

// Conditions and configuration.
CounterFamily& ConditionErrorsTotal();  // {observer}
CounterFamily& ConfigReloadsTotal();    // {result}

}  // namespace fraiseql::metrics
