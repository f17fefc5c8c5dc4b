//! Smoke tests of the notification test infrastructure, with the exact client setup the
//! notifications module uses:
//! * lettre over STARTTLS and over implicit TLS, with AUTH, trusting the test CA, against the
//!   real SMTP server started by `scripts/services.sh`, read back from its Maildir;
//! * slack-morphism over plain HTTP against the in-process Slack stand-in
//!   (`support::SlackStandIn`): chat.postMessage, 429 with Retry-After, 500, webhooks.

mod support;

use std::time::{Duration, Instant};

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

/// A lettre transport to the test server at `addr`, TLS verified against the test CA.
fn mailer(addr: std::net::SocketAddr, implicit_tls: bool) -> AsyncSmtpTransport<Tokio1Executor> {
    let ca = Certificate::from_pem(&support::smtp_ca_pem()).expect("CA PEM");
    // The certificate names IP:127.0.0.1 and DNS:localhost; verify against the address used.
    let tls = TlsParameters::builder(addr.ip().to_string())
        .add_root_certificate(ca)
        .build_rustls()
        .expect("TLS parameters");
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
        .port(addr.port())
        .tls(if implicit_tls {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        })
        .credentials(Credentials::new("llmwatch".into(), "secret".into()))
        .authentication(vec![Mechanism::Plain])
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn alert_email(subject: &str) -> Message {
    Message::builder()
        .from(
            "llmwatch <alerts@llmwatch.test>"
                .parse::<Mailbox>()
                .unwrap(),
        )
        .to("On-call <oncall@example.test>".parse::<Mailbox>().unwrap())
        .to("team@example.test".parse::<Mailbox>().unwrap())
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(
            "High refusal rate: 12.5% over 5m".to_string(),
            "<p><b>High refusal rate</b>: 12.5% over 5m</p>".to_string(),
        ))
        .expect("build message")
}

#[tokio::test]
async fn lettre_starttls_auth_multipart_to_two_recipients() {
    let subject = support::unique_name("smtp-smoke starttls");
    let t = Instant::now();
    let response = mailer(support::smtp_addr(), false)
        .send(alert_email(&subject))
        .await
        .expect("send over STARTTLS");
    assert!(response.is_positive());
    let m = support::wait_for_mail_with_subject(&subject, Duration::from_secs(10)).await;
    println!(
        "smtp_smoke: STARTTLS send + Maildir read in {:?}",
        t.elapsed()
    );

    assert_eq!(m.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(m.from, vec!["alerts@llmwatch.test"]);
    assert_eq!(m.to, vec!["oncall@example.test", "team@example.test"]);
    assert_eq!(m.envelope_from.as_deref(), Some("alerts@llmwatch.test"));
    assert_eq!(
        m.envelope_to,
        vec!["oncall@example.test", "team@example.test"]
    );
    assert!(
        m.tls.as_deref().is_some_and(|v| v.starts_with("TLSv1.")),
        "came over TLS: {:?}",
        m.tls
    );
    assert_eq!(m.auth.as_deref(), Some("PLAIN llmwatch"));
    assert_eq!(m.text.len(), 1, "one text part: {:?}", m.text);
    assert_eq!(m.text[0].trim_end(), "High refusal rate: 12.5% over 5m");
    assert_eq!(m.html.len(), 1, "one html part: {:?}", m.html);
    assert!(
        m.html[0].contains("<b>High refusal rate</b>"),
        "{}",
        m.html[0]
    );
    assert!(
        m.header("Content-Type")
            .is_some_and(|v| v.starts_with("multipart/alternative")),
        "{:?}",
        m.header("Content-Type")
    );
}

#[tokio::test]
async fn lettre_implicit_tls_auth() {
    let subject = support::unique_name("smtp-smoke implicit-tls");
    mailer(support::smtps_addr(), true)
        .send(alert_email(&subject))
        .await
        .expect("send over implicit TLS");
    let m = support::wait_for_mail_with_subject(&subject, Duration::from_secs(10)).await;
    assert!(
        m.tls.as_deref().is_some_and(|v| v.starts_with("TLSv1.")),
        "{:?}",
        m.tls
    );
    assert_eq!(m.auth.as_deref(), Some("PLAIN llmwatch"));
    assert_eq!(m.envelope_to.len(), 2);
}

#[tokio::test]
async fn lettre_refuses_an_untrusted_certificate() {
    // Without the test CA, verification must fail: proves the CA is what makes TLS pass.
    let addr = support::smtp_addr();
    let tls = TlsParameters::builder(addr.ip().to_string())
        .build_rustls()
        .unwrap();
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
        .port(addr.port())
        .tls(Tls::Required(tls))
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let err = mailer
        .send(alert_email("never delivered"))
        .await
        .expect_err("untrusted cert");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

/// slack-morphism client over plain HTTP, as the notifications module builds it for tests.
fn slack_client(
    api_url: &str,
) -> SlackClient<SlackClientHyperConnector<hyper_util::client::legacy::connect::HttpConnector>> {
    let connector = SlackClientHyperConnector::with_connector(
        hyper_util::client::legacy::connect::HttpConnector::new(),
    )
    .with_slack_api_url(api_url);
    SlackClient::new(connector)
}

#[tokio::test]
async fn slack_chat_post_message_against_stand_in() {
    let standin = support::SlackStandIn::start().await;
    let client = slack_client(&standin.api_url());
    let token = SlackApiToken::new("xoxb-test-token".into());
    let session = client.open_session(&token);

    let blocks: Vec<SlackBlock> = vec![
        SlackHeaderBlock::new(pt!("High refusal rate")).into(),
        SlackSectionBlock::new()
            .with_text(md!("*rule* `refusals` is *firing*: 12.5%"))
            .into(),
    ];
    let req = SlackApiChatPostMessageRequest::new(
        "C0ALERTS".into(),
        SlackMessageContent::new()
            .with_text("High refusal rate: 12.5%".into())
            .with_blocks(blocks),
    );
    let t = Instant::now();
    let resp = session
        .chat_post_message(&req)
        .await
        .expect("chat.postMessage");
    println!("smtp_smoke: chat.postMessage round trip {:?}", t.elapsed());
    assert_eq!(resp.channel.0, "C0ALERTS");
    assert!(!resp.ts.0.is_empty());

    let reqs = standin.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/chat.postMessage");
    assert_eq!(r.header("authorization"), Some("Bearer xoxb-test-token"));
    let body = r.json.as_ref().expect("JSON body");
    assert_eq!(body["channel"], "C0ALERTS");
    assert_eq!(body["text"], "High refusal rate: 12.5%");
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["blocks"][0]["text"]["text"], "High refusal rate");
    assert_eq!(body["blocks"][1]["type"], "section");
    assert_eq!(body["blocks"][1]["text"]["type"], "mrkdwn");

    // 429 with Retry-After, then 500, then an API-level error, then success again.
    standin.fail_next(
        1,
        support::SlackFailure::RateLimited {
            retry_after_secs: 7,
        },
    );
    standin.fail_next(1, support::SlackFailure::ServerError);
    standin.fail_next(
        1,
        support::SlackFailure::ApiError("channel_not_found".into()),
    );
    match session.chat_post_message(&req).await {
        Err(SlackClientError::RateLimitError(e)) => {
            assert_eq!(e.retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("expected a rate-limit error, got {other:?}"),
    }
    match session.chat_post_message(&req).await {
        Err(SlackClientError::HttpError(e)) => assert_eq!(e.status_code.as_u16(), 500),
        other => panic!("expected HTTP 500, got {other:?}"),
    }
    match session.chat_post_message(&req).await {
        Err(SlackClientError::ApiError(e)) => assert_eq!(e.code, "channel_not_found"),
        other => panic!("expected an API error, got {other:?}"),
    }
    session
        .chat_post_message(&req)
        .await
        .expect("succeeds after the scripted failures");
    let statuses: Vec<u16> = standin.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 429, 500, 200, 200]);
}

#[tokio::test]
async fn slack_incoming_webhook_against_stand_in() {
    let standin = support::SlackStandIn::start().await;
    let client = slack_client(&standin.api_url());
    let url: url::Url = standin.webhook_url("T000/B000/XXXX").parse().unwrap();
    let req = SlackApiPostWebhookMessageRequest::new(
        SlackMessageContent::new().with_text("resolved: High refusal rate".into()),
    );
    client
        .post_webhook_message(&url, &req)
        .await
        .expect("webhook accepted");
    let reqs = standin.wait_for_requests(1, Duration::from_secs(5)).await;
    assert_eq!(reqs[0].path, "/services/T000/B000/XXXX");
    assert_eq!(
        reqs[0].json.as_ref().unwrap()["text"],
        "resolved: High refusal rate"
    );

    standin.fail_next(1, support::SlackFailure::ServerError);
    let err = client
        .post_webhook_message(&url, &req)
        .await
        .expect_err("500");
    assert!(
        matches!(err, SlackClientError::HttpError(ref e) if e.status_code.as_u16() == 500),
        "{err:?}"
    );
}
