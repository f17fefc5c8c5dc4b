//! Partitions assigned without usable local state are rebuilt by replay: from the longest
//! window (plus lateness) before now, in an engine of their own so their series run in
//! their own event time, with every transition discarded up to the previous owner's
//! committed offset (that owner already delivered them). At that offset the rebuilt
//! windows and alerts move into the main engine and the partition continues live.

use std::time::Duration as StdDuration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use crate::eval::Engine;

/// A partition being rebuilt.
pub(super) struct Rebuild {
    /// The previous owner's committed offset: transitions before it are not delivered.
    pub until: i64,
    pub engine: Engine,
}

const LOOKUP_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// The group's committed offset for a partition, if it has one.
pub(super) fn committed_offset<C: ConsumerContext>(consumer: &BaseConsumer<C>, topic: &str, partition: i32) -> Option<i64> {
    let mut q = TopicPartitionList::new();
    q.add_partition(topic, partition).set_offset(Offset::Invalid).ok()?;
    match consumer.committed_offsets(q, LOOKUP_TIMEOUT).ok()?.find_partition(topic, partition)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// Where to start the rebuild: `lookback_ms` before `now_ms` by Kafka timestamps, so every
/// window is whole again when the replay reaches `committed`; never after `committed`.
pub(super) fn start_offset<C: ConsumerContext>(consumer: &BaseConsumer<C>, topic: &str, partition: i32, committed: i64, now_ms: i64, lookback_ms: i64) -> i64 {
    let mut t = TopicPartitionList::new();
    let _ = t.add_partition_offset(topic, partition, Offset::Offset(now_ms - lookback_ms));
    let from = consumer.offsets_for_times(t, LOOKUP_TIMEOUT).ok().and_then(|l| l.find_partition(topic, partition).map(|e| e.offset()));
    match from {
        Some(Offset::Offset(o)) => o.min(committed),
        // Every message is older than the longest window: nothing to rebuild.
        Some(Offset::End) => committed,
        other => {
            tracing::warn!(message = "Cannot look offsets up by time; resuming without a rebuild.", topic, partition, answer = ?other);
            committed
        }
    }
}
