//! `llmwatch produce`: loads a recorded JSONL stream into a Kafka topic (keyed by
//! conversation, or by another field), to try the daemon on real data or measure it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    #[arg(long)]
    pub topic: String,
    /// JSONL events (`-` for stdin; `.gz` is decompressed). Lines are sent as they are.
    #[arg(long)]
    pub events: PathBuf,
    /// The top-level event field whose value keys each message (its partition). A
    /// conversation keeps its events, feedback included, in order in one partition; keying
    /// by the rules' `group_by` label instead (`gen_ai.response.model`) keeps each alert
    /// group whole on one consumer. Events without the field are sent without a key.
    #[arg(long, default_value = "gen_ai.conversation.id", value_name = "FIELD")]
    pub key: String,
}

pub fn run(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "500000")
        .create()?;
    let reader = llmwatch::source::open_events(&args.events).with_context(|| format!("cannot open {}", args.events.display()))?;
    let started = Instant::now();
    let mut n = 0u64;
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let key = serde_json::from_str::<serde_json::Value>(&line).ok().and_then(|v| match &v[&args.key] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        });
        let mut record = BaseRecord::to(&args.topic).payload(line.as_bytes());
        if let Some(k) = &key {
            record = record.key(k.as_bytes());
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, r)) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) => {
                    producer.poll(Duration::from_millis(50));
                    record = r;
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        n += 1;
        if n.is_multiple_of(10_000) {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(60))?;
    eprintln!("produced {n} events in {:.1}s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
