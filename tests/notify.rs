//! Notifications against real components: the SMTP server started by scripts/test.sh
//! (aiosmtpd: STARTTLS, implicit TLS, AUTH) and a local HTTP server standing in for the
//! Slack Web API with slack-morphism pointed at it. Faults: receiver down, 429 with
//! Retry-After, silences; the daemon killed with a non-empty outbox is in tests/daemon.rs.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use llmwatch::config::Checker;
use llmwatch::eval::{AlertState, Sample, Transition};
use llmwatch::notify::notification::RuleFacts;
use llmwatch::notify::stage::Staged;
use llmwatch::notify::{Fate, Kind, Notification, NotifyConfig, Outbox, Sender};
use serde_json::Value;

const T0: i64 = 1_795_780_800_000; // 2026-11-27T12:00:00Z

fn notify_config(toml_text: &str, dir: &Path) -> NotifyConfig {
    let table: toml::Table = toml_text.parse().unwrap();
    let mut c = Checker::default();
    let n = NotifyConfig::decode(&table, &mut c, dir);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    n
}

fn slack_config(api_url: &str, extra: &str) -> String {
    format!(
        "[[receivers]]\nname = \"oncall\"\ntype = \"slack\"\ntoken = \"xoxb-test-token\"\nchannel = \"C0ALERTS\"\napi_url = \"{api_url}\"\n\n[routing]\ngroup_wait = \"0s\"\ninitial_backoff = \"200ms\"\nmax_backoff = \"400ms\"\n{extra}"
    )
}

fn notification(rule: &str, model: &str, kind: Kind, at: i64) -> Notification {
    let state = if kind == Kind::Resolved { AlertState::Resolved } else { AlertState::Firing };
    Notification {
        kind,
        settled: false,
        rule: RuleFacts {
            severity: "page".into(),
            description: None,
            business_value: Some("Over-refusal blocks customers".into()),
            condition: "> 0.08".into(),
            window: "10m".into(),
            labels: Default::default(),
            annotations: [("runbook".to_string(), "https://runbooks.example.com/refusals".to_string())].into(),
        },
        transition: Transition {
            rule: rule.into(),
            group: vec![("model".into(), model.into())],
            state,
            at_ms: at,
            value: Some(if kind == Kind::Resolved { 0.02 } else { 0.25 }),
            threshold: 0.08,
            events: 400,
            samples: vec![Sample { id: "ev-7".into(), excerpt: Some("Désolé, je ne peux pas. Écrivez à support@example.com".into()) }],
            reminder: false,
            firing_since_ms: Some(T0),
        },
    }
}

/// Stages notifications for `receiver` directly into the outbox, as a checkpoint would.
fn stage(outbox: &Outbox, tree: &sled::Tree, receiver: &str, ns: &[Notification]) {
    let staged: Vec<Staged> = ns.iter().map(|n| Staged { receiver: receiver.into(), notification: n.clone() }).collect();
    let mut seq = outbox.last_seq().unwrap();
    let mut batch = sled::Batch::default();
    Outbox::stage_into(&mut batch, &mut seq, &staged, llmwatch::time::wall_clock_ms());
    tree.apply_batch(batch).unwrap();
}

fn open_tree(dir: &Path) -> sled::Tree {
    sled::open(dir.join("store")).unwrap().open_tree("state").unwrap()
}

/// Runs delivery passes until the outbox is empty (or the timeout).
async fn drain(sender: &mut Sender, outbox: &Outbox, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while outbox.depth() > 0 {
        assert!(Instant::now() < deadline, "outbox not drained within {timeout:?}: {:#?}", outbox.pending().unwrap());
        sender.pass().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Slack stand-in, a fresh store and a sender to the stand-in's `oncall` receiver.
struct SlackFixture {
    standin: support::SlackStandIn,
    _dir: tempfile::TempDir,
    tree: sled::Tree,
    outbox: Outbox,
    sender: Sender,
}

async fn slack_fixture(routing_extra: &str) -> SlackFixture {
    let standin = support::SlackStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tree = open_tree(dir.path());
    let outbox = Outbox::new(tree.clone());
    let config = notify_config(&slack_config(&standin.api_url(), routing_extra), dir.path());
    let sender = Sender::new(outbox.clone(), config).unwrap();
    SlackFixture { standin, _dir: dir, tree, outbox, sender }
}

fn section_texts(body: &Value) -> Vec<String> {
    body["blocks"].as_array().unwrap().iter().filter(|b| b["type"] == "section").map(|b| b["text"]["text"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn slack_posts_block_kit_groups_within_group_wait_and_updates_the_message_on_resolve() {
    let standin = support::SlackStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tree = open_tree(dir.path());
    let outbox = Outbox::new(tree.clone());
    let config = notify_config(&slack_config(&standin.api_url(), "").replace("group_wait = \"0s\"", "group_wait = \"1s\""), dir.path());
    let mut sender = Sender::new(outbox.clone(), config).unwrap();

    // Two alerts staged 300 ms apart fall in one group_wait: one message.
    stage(&outbox, &tree, "oncall", &[notification("refusal_rate", "gpt-4o-mini", Kind::Firing, T0)]);
    sender.pass().await.unwrap();
    assert!(standin.requests().is_empty(), "group_wait holds the first notification back");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stage(&outbox, &tree, "oncall", &[notification("latency_p95", "gpt-4o-mini", Kind::Firing, T0 + 1000)]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;

    let reqs = standin.requests();
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    let post = &reqs[0];
    assert_eq!((post.method.as_str(), post.path.as_str()), ("POST", "/api/chat.postMessage"));
    assert_eq!(post.header("authorization"), Some("Bearer xoxb-test-token"));
    let body = post.json.as_ref().unwrap();
    assert_eq!(body["channel"], "C0ALERTS");
    assert_eq!(body["text"], "[FIRING:2] refusal_rate (model=gpt-4o-mini) and 1 more");
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["blocks"][1]["type"], "section");
    assert_eq!(body["blocks"][2]["type"], "divider");
    let sections = section_texts(body);
    assert_eq!(sections.len(), 2);
    assert!(sections[0].starts_with(":rotating_light: *refusal_rate* is *firing* · model=gpt-4o-mini"), "{}", sections[0]);
    assert!(sections[0].contains("*Value* 0.25 (threshold > 0.08) over 10m, 400 events"), "{}", sections[0]);
    assert!(sections[0].contains("<https://runbooks.example.com/refusals>"), "{}", sections[0]);
    assert!(sections[0].contains("`ev-7` “Désolé, je ne peux pas. Écrivez à [email]”"), "redacted sample: {}", sections[0]);
    assert!(sections[1].contains("*latency_p95* is *firing*"), "{}", sections[1]);
    let ts = "1700000000.000001";

    // One of them resolves: the same message is updated in place, the other still firing.
    stage(&outbox, &tree, "oncall", &[notification("refusal_rate", "gpt-4o-mini", Kind::Resolved, T0 + 600_000)]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    let reqs = standin.requests();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    let update = &reqs[1];
    assert_eq!((update.method.as_str(), update.path.as_str()), ("POST", "/api/chat.update"));
    let body = update.json.as_ref().unwrap();
    assert_eq!(body["channel"], "C0ALERTS");
    assert_eq!(body["ts"], ts);
    assert_eq!(body["text"], "[FIRING:1, RESOLVED:1] refusal_rate (model=gpt-4o-mini) and 1 more");
    let sections = section_texts(body);
    assert!(sections[0].starts_with(":white_check_mark: *refusal_rate* is *resolved*"), "{}", sections[0]);
    assert!(sections[1].contains("*latency_p95* is *firing*"), "{}", sections[1]);

    let log = outbox.log().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|l| l.fate == Fate::Sent && l.detail.as_deref() == Some(ts)), "{log:#?}");
}

#[tokio::test]
async fn email_goes_out_over_starttls_with_auth_as_multipart_text_and_html() {
    email_round_trip(support::smtp_addr(), "starttls").await;
}

#[tokio::test]
async fn email_goes_out_over_implicit_tls() {
    email_round_trip(support::smtps_addr(), "implicit").await;
}

async fn email_round_trip(smtp: std::net::SocketAddr, tls: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tree = open_tree(dir.path());
    let outbox = Outbox::new(tree.clone());
    // A secret from a file (relative to the config's directory): env::set_var while other
    // test threads run is undefined behaviour.
    std::fs::write(dir.path().join("smtp-password"), "secret\n").unwrap();
    let to = format!("{tls}-{}", support::unique_name("oncall").replace([' ', ':'], "-").to_lowercase());
    let config = notify_config(
        &format!(
            "[[receivers]]\nname = \"mail\"\ntype = \"email\"\nhost = \"{}\"\nport = {}\ntls = \"{tls}\"\nca_file = \"{}\"\nusername = \"llmwatch\"\npassword = {{ file = \"smtp-password\" }}\nfrom = \"llmwatch <alerts@llmwatch.test>\"\nto = [\"{to}@example.test\", \"team@example.test\"]\n\n[routing]\ngroup_wait = \"0s\"\n",
            smtp.ip(),
            smtp.port(),
            support::smtp_ca_path().display()
        ),
        dir.path(),
    );
    let mut sender = Sender::new(outbox.clone(), config).unwrap();
    let n = notification(&format!("refusal_rate_{to}"), "gpt-4o-mini", Kind::Firing, T0);
    stage(&outbox, &tree, "mail", &[n]);
    drain(&mut sender, &outbox, Duration::from_secs(15)).await;

    let subject = format!("[FIRING] refusal_rate_{to} (model=gpt-4o-mini): 0.25 > 0.08");
    let m = support::wait_for_mail_with_subject(&subject, Duration::from_secs(10)).await;
    assert_eq!(m.from, vec!["alerts@llmwatch.test"]);
    assert_eq!(m.to, vec![format!("{to}@example.test"), "team@example.test".to_string()]);
    assert_eq!(m.envelope_to, m.to);
    assert!(m.tls.as_deref().is_some_and(|v| v.starts_with("TLSv1.")), "{:?}", m.tls);
    assert_eq!(m.auth.as_deref(), Some("PLAIN llmwatch"));
    assert!(m.header("Content-Type").is_some_and(|v| v.starts_with("multipart/alternative")));
    assert_eq!((m.text.len(), m.html.len()), (1, 1));
    for part in [&m.text[0], &m.html[0]] {
        for want in ["0.25", "&gt; 0.08", "10m", "400", "Over-refusal blocks customers", "runbooks.example.com", "ev-7", "[email]"] {
            let want = if part == &m.text[0] { want.replace("&gt;", ">") } else { want.to_string() };
            assert!(part.contains(&want), "{want:?} missing from:\n{part}");
        }
        assert!(!part.contains("support@example.com"), "sample not redacted:\n{part}");
    }
    assert!(m.text[0].contains("Value:     0.25 (threshold > 0.08)"), "{}", m.text[0]);
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_everything_once_it_is_back_nothing_twice() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("").await;
    standin.fail_next(4, support::SlackFailure::ServerError);
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Firing, T0)]);
    sender.pass().await.unwrap();
    stage(&outbox, &tree, "oncall", &[notification("b", "m1", Kind::Firing, T0 + 1)]);
    drain(&mut sender, &outbox, Duration::from_secs(20)).await;

    let reqs = standin.requests();
    let statuses: Vec<u16> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 4, "{statuses:?}");
    let delivered: Vec<String> = reqs.iter().filter(|r| r.status == 200).flat_map(|r| section_texts(r.json.as_ref().unwrap())).collect();
    assert_eq!(delivered.len(), 2, "each alert exactly once: {delivered:#?}");
    assert!(delivered.iter().any(|s| s.contains("*a* is *firing*")) && delivered.iter().any(|s| s.contains("*b* is *firing*")));
    // Backoff grew between attempts (200 ms, 400 ms cap, with jitter ≥ half).
    let log = outbox.log().unwrap();
    assert!(log.iter().all(|l| l.fate == Fate::Sent), "{log:#?}");
    assert!(log.iter().any(|l| l.attempts >= 2), "retries are counted: {log:#?}");

    // Nothing left, nothing sent again on later passes.
    sender.pass().await.unwrap();
    assert_eq!(standin.requests().len(), reqs.len());
}

#[tokio::test]
async fn slack_429_retry_after_is_waited_out() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("").await;
    standin.fail_next(1, support::SlackFailure::RateLimited { retry_after_secs: 2 });
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Firing, T0)]);
    let started = Instant::now();
    let mut times = Vec::new();
    while outbox.depth() > 0 && started.elapsed() < Duration::from_secs(10) {
        let before = standin.requests().len();
        sender.pass().await.unwrap();
        if standin.requests().len() > before {
            times.push(started.elapsed());
            if times.len() == 1 {
                // Staged during the wait: it waits too (the receiver asked for quiet).
                stage(&outbox, &tree, "oncall", &[notification("b", "m1", Kind::Firing, T0)]);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reqs = standin.requests();
    let statuses: Vec<u16> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
    assert_eq!(section_texts(reqs[1].json.as_ref().unwrap()).len(), 2, "both went out together after the wait");
    let waited = times[1] - times[0];
    assert!(waited >= Duration::from_millis(1950), "retried after {waited:?}, Retry-After said 2 s");
    assert!(waited < Duration::from_millis(3000), "but not much later: {waited:?}");
}

#[tokio::test]
async fn a_silence_suppresses_exactly_what_it_matches_and_records_it() {
    let standin = support::SlackStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tree = open_tree(dir.path());
    let outbox = Outbox::new(tree.clone());
    let silences = dir.path().join("silences.json");
    let add = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["silence", "add", "--match", "rule=refusal_rate,model=gpt-4o-mini", "--for", "1h", "--comment", "known, rolling back", "--file"])
        .arg(&silences)
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let id = String::from_utf8_lossy(&add.stdout).trim().to_string();
    let list = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["silence", "list", "--file"]).arg(&silences).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains(&id) && listed.contains("active") && listed.contains("rule=refusal_rate,model=gpt-4o-mini") && listed.contains("known, rolling back"), "{listed}");
    let config = notify_config(&slack_config(&standin.api_url(), &format!("silences = \"{}\"\n", silences.display())), dir.path());
    let mut sender = Sender::new(outbox.clone(), config).unwrap();
    stage(
        &outbox,
        &tree,
        "oncall",
        &[
            notification("refusal_rate", "gpt-4o-mini", Kind::Firing, T0),
            notification("refusal_rate", "claude-3-5-sonnet", Kind::Firing, T0),
            notification("latency_p95", "gpt-4o-mini", Kind::Firing, T0),
        ],
    );
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    let sections: Vec<String> = standin.requests().iter().flat_map(|r| section_texts(r.json.as_ref().unwrap())).collect();
    assert_eq!(sections.len(), 2, "{sections:#?}");
    assert!(sections.iter().any(|s| s.contains("*refusal_rate* is *firing* · model=claude-3-5-sonnet")));
    assert!(sections.iter().any(|s| s.contains("*latency_p95* is *firing* · model=gpt-4o-mini")));
    let log = outbox.log().unwrap();
    let silenced: Vec<_> = log.iter().filter(|l| l.fate == Fate::Silenced).collect();
    assert_eq!(silenced.len(), 1, "{log:#?}");
    assert_eq!(silenced[0].alert, "refusal_rate{model=gpt-4o-mini}");
    assert_eq!(silenced[0].detail.as_deref(), Some(id.as_str()));

    // Expired through the CLI: the next one goes out.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["silence", "expire", &id, "--file"])
        .arg(&silences)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stage(&outbox, &tree, "oncall", &[notification("refusal_rate", "gpt-4o-mini", Kind::Resolved, T0 + 60_000)]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    let reqs = standin.requests();
    assert_eq!(reqs.len(), 2, "the two unsilenced went out as one message, then this one");
    assert!(section_texts(reqs[1].json.as_ref().unwrap())[0].contains("*refusal_rate* is *resolved* · model=gpt-4o-mini"));
}

#[tokio::test]
async fn a_permanent_refusal_is_recorded_as_failed_not_retried_forever() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("").await;
    standin.fail_next(1, support::SlackFailure::ApiError("channel_not_found".into()));
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Firing, T0)]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    let log = outbox.log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].fate, Fate::Failed);
    assert_eq!(log[0].detail.as_deref(), Some("Slack API error: channel_not_found"));
    assert_eq!(standin.requests().len(), 1);
}

#[tokio::test]
async fn an_entry_undeliverable_past_give_up_after_is_dropped_and_recorded_as_failed() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("give_up_after = \"1s\"\n").await;
    standin.fail_next(1000, support::SlackFailure::ServerError);
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Firing, T0)]);
    let started = Instant::now();
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    let log = outbox.log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].fate, Fate::Failed);
    assert_eq!(log[0].detail.as_deref(), Some("Slack answered HTTP 500"));
    assert!(log[0].attempts >= 2, "{log:#?}");
}

#[tokio::test]
async fn a_notification_already_marked_sent_is_never_sent_again() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("").await;
    let n = notification("a", "m1", Kind::Firing, T0);
    stage(&outbox, &tree, "oncall", std::slice::from_ref(&n));
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    assert_eq!(standin.requests().len(), 1);
    // The same (alert, transition) staged again — as after a crash that lost the cleanup.
    stage(&outbox, &tree, "oncall", &[n]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    assert_eq!(standin.requests().len(), 1, "not sent twice");
    let fates: Vec<Fate> = outbox.log().unwrap().iter().map(|l| l.fate).collect();
    assert_eq!(fates, [Fate::Sent, Fate::Duplicate]);
}

#[tokio::test]
async fn a_message_that_cannot_be_updated_gets_the_resolution_as_a_new_message() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("").await;
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Firing, T0)]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    standin.fail_next(1, support::SlackFailure::ApiError("message_not_found".into()));
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Resolved, T0 + 60_000)]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    let paths: Vec<(String, u16)> = standin.requests().iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(paths, [("/api/chat.postMessage".to_string(), 200), ("/api/chat.update".to_string(), 200), ("/api/chat.postMessage".to_string(), 200)]);
    let last = section_texts(standin.requests()[2].json.as_ref().unwrap());
    assert!(last[0].contains("*a* is *resolved*"), "{last:?}");
    assert!(outbox.log().unwrap().iter().all(|l| l.fate == Fate::Sent));
}

#[tokio::test]
async fn an_alerts_notifications_keep_their_order_when_the_first_one_is_retried() {
    let SlackFixture { standin, tree, outbox, mut sender, .. } = slack_fixture("").await;
    standin.fail_next(1, support::SlackFailure::ServerError);
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Firing, T0)]);
    sender.pass().await.unwrap();
    stage(&outbox, &tree, "oncall", &[notification("a", "m1", Kind::Resolved, T0 + 60_000)]);
    drain(&mut sender, &outbox, Duration::from_secs(5)).await;
    // Never a "firing" after the "resolved": the resolution waited behind the retried firing.
    let ok: Vec<Vec<String>> = standin.requests().iter().filter(|r| r.status == 200).map(|r| section_texts(r.json.as_ref().unwrap())).collect();
    let last = ok.last().unwrap();
    assert!(last.iter().any(|s| s.contains("*a* is *resolved*")), "{ok:#?}");
    let resolved_at = ok.iter().position(|m| m.iter().any(|s| s.contains("is *resolved*"))).unwrap();
    assert!(ok[resolved_at..].iter().flatten().all(|s| !s.contains("*a* is *firing*") || ok[resolved_at].contains(s)), "{ok:#?}");
}

#[tokio::test]
async fn a_webhook_receiver_posts_each_message_new_and_a_resolution_as_its_own_message() {
    let standin = support::SlackStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tree = open_tree(dir.path());
    let outbox = Outbox::new(tree.clone());
    let hook = standin.webhook_url("T0/B0/secret");
    let config = notify_config(
        &format!("[[receivers]]\nname = \"oncall\"\ntype = \"slack\"\nwebhook_url = \"{hook}\"\n\n[routing]\ngroup_wait = \"0s\"\ninitial_backoff = \"200ms\"\nmax_backoff = \"400ms\"\n"),
        dir.path(),
    );
    let mut sender = Sender::new(outbox.clone(), config).unwrap();
    stage(&outbox, &tree, "oncall", &[notification("refusal_rate", "gpt-4o-mini", Kind::Firing, T0)]);
    drain(&mut sender, &outbox, Duration::from_secs(10)).await;
    stage(&outbox, &tree, "oncall", &[notification("refusal_rate", "gpt-4o-mini", Kind::Resolved, T0 + 600_000)]);
    drain(&mut sender, &outbox, Duration::from_secs(10)).await;
    let reqs = standin.requests();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    for (r, text) in reqs.iter().zip(["[FIRING] refusal_rate (model=gpt-4o-mini)", "[RESOLVED] refusal_rate (model=gpt-4o-mini)"]) {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/services/T0/B0/secret"), "a webhook cannot update: each is a new post");
        let body = r.json.as_ref().unwrap();
        assert!(body["text"].as_str().unwrap().starts_with(text), "{body}");
        assert!(body["blocks"].as_array().is_some_and(|b| !b.is_empty()), "{body}");
    }
    assert!(outbox.log().unwrap().iter().all(|l| l.fate == Fate::Sent), "{:#?}", outbox.log().unwrap());
}
