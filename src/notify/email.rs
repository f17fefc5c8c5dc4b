//! E-mail delivery through lettre: SMTP with STARTTLS or implicit TLS, optional AUTH, one
//! multipart (text + HTML) message per group.

use std::time::Duration as StdDuration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::{EmailReceiver, SmtpTls};
use super::render::Rendered;
use super::transport::DeliveryError;

pub struct EmailTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl EmailTransport {
    pub fn new(r: &EmailReceiver) -> Result<EmailTransport, String> {
        let tls = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(r.host.clone());
            if let Some(path) = &r.ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                b = b.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| format!("ca_file {}: {e}", path.display()))?);
            }
            b.build_rustls().map_err(|e| format!("TLS setup: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&r.host)
            .port(r.port)
            .timeout(Some(StdDuration::from_millis(r.timeout.as_millis().max(1) as u64)))
            .tls(match r.tls {
                SmtpTls::Starttls => Tls::Required(tls()?),
                SmtpTls::Implicit => Tls::Wrapper(tls()?),
                SmtpTls::None => Tls::None,
            });
        if let (Some(user), Some(password)) = (&r.username, &r.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.resolve().map_err(|e| format!("password: {e}"))?));
        }
        let from = r.from.parse().map_err(|e| format!("from: {e}"))?;
        let to = r.to.iter().map(|a| a.parse().map_err(|e| format!("to `{a}`: {e}"))).collect::<Result<_, _>>()?;
        Ok(EmailTransport { mailer: builder.build(), from, to })
    }

    pub fn message(&self, r: &Rendered) -> Result<Message, DeliveryError> {
        email_message(&self.from, &self.to, r)
    }

    pub async fn send(&self, r: &Rendered) -> Result<(), DeliveryError> {
        let m = self.message(r)?;
        match self.mailer.send(m).await {
            Ok(_) => Ok(()),
            // 5xx: the server refused for good (bad recipient, policy); retrying won't help.
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(format!("SMTP refused: {e}"))),
            Err(e) => Err(DeliveryError::transient(format!("SMTP: {e}"))),
        }
    }
}

/// The multipart message for a rendered group.
pub fn email_message(from: &Mailbox, to: &[Mailbox], r: &Rendered) -> Result<Message, DeliveryError> {
    let mut b = Message::builder().from(from.clone()).subject(r.title.clone());
    for t in to {
        b = b.to(t.clone());
    }
    b.multipart(MultiPart::alternative_plain_html(r.email_text.clone(), r.email_html.clone()))
        .map_err(|e| DeliveryError::permanent(format!("cannot build the e-mail: {e}")))
}
