//! Support questions and answers in four languages, for the generated stream. Each entry is
//! the same exchange translated, so a "wrong language" answer is a real translation.

/// (language code, question, answer) triples, index-aligned across languages.
pub const LANGS: &[&str] = &["en", "fr", "de", "es"];

pub const QUESTIONS: &[[&str; 4]] = &[
    [
        "What is your refund policy for items bought online?",
        "Quelle est votre politique de remboursement pour les articles achetés en ligne ?",
        "Wie sieht Ihre Rückerstattungsrichtlinie für online gekaufte Artikel aus?",
        "¿Cuál es su política de reembolso para los artículos comprados en línea?",
    ],
    [
        "How do I reset my password if I no longer have access to my email?",
        "Comment réinitialiser mon mot de passe si je n'ai plus accès à ma boîte mail ?",
        "Wie setze ich mein Passwort zurück, wenn ich keinen Zugriff mehr auf meine E-Mail habe?",
        "¿Cómo restablezco mi contraseña si ya no tengo acceso a mi correo electrónico?",
    ],
    [
        "Can I change the delivery address after my order has been shipped?",
        "Puis-je modifier l'adresse de livraison après l'expédition de ma commande ?",
        "Kann ich die Lieferadresse ändern, nachdem meine Bestellung versandt wurde?",
        "¿Puedo cambiar la dirección de entrega después de que se haya enviado mi pedido?",
    ],
    [
        "Why was my card declined when I tried to pay for my subscription?",
        "Pourquoi ma carte a-t-elle été refusée lorsque j'ai essayé de payer mon abonnement ?",
        "Warum wurde meine Karte abgelehnt, als ich mein Abonnement bezahlen wollte?",
        "¿Por qué rechazaron mi tarjeta cuando intenté pagar mi suscripción?",
    ],
    [
        "How long does standard shipping take to reach the countryside?",
        "Combien de temps faut-il pour qu'une livraison standard arrive à la campagne ?",
        "Wie lange dauert der Standardversand, bis er auf dem Land ankommt?",
        "¿Cuánto tarda el envío estándar en llegar a las zonas rurales?",
    ],
    [
        "Is it possible to cancel my subscription before the end of the month?",
        "Est-il possible de résilier mon abonnement avant la fin du mois ?",
        "Ist es möglich, mein Abonnement vor Ende des Monats zu kündigen?",
        "¿Es posible cancelar mi suscripción antes de que termine el mes?",
    ],
];

pub const ANSWERS: &[[&str; 4]] = &[
    [
        "You can return any item within thirty days of delivery and we will refund the full amount to your original payment method.",
        "Vous pouvez retourner tout article dans les trente jours suivant la livraison et nous rembourserons le montant total sur votre moyen de paiement initial.",
        "Sie können jeden Artikel innerhalb von dreißig Tagen nach der Lieferung zurückgeben, und wir erstatten den vollen Betrag auf Ihre ursprüngliche Zahlungsmethode.",
        "Puede devolver cualquier artículo dentro de los treinta días posteriores a la entrega y le reembolsaremos el importe total en su método de pago original.",
    ],
    [
        "Open the login page, choose forgot password and then verify your identity with the phone number linked to your account.",
        "Ouvrez la page de connexion, choisissez mot de passe oublié puis vérifiez votre identité avec le numéro de téléphone associé à votre compte.",
        "Öffnen Sie die Anmeldeseite, wählen Sie Passwort vergessen und bestätigen Sie dann Ihre Identität mit der Telefonnummer, die mit Ihrem Konto verknüpft ist.",
        "Abra la página de inicio de sesión, elija olvidé mi contraseña y luego verifique su identidad con el número de teléfono vinculado a su cuenta.",
    ],
    [
        "Once a parcel has left our warehouse the address can no longer be changed, but you can redirect it with the carrier using your tracking number.",
        "Une fois que le colis a quitté notre entrepôt, l'adresse ne peut plus être modifiée, mais vous pouvez le faire rediriger par le transporteur grâce à votre numéro de suivi.",
        "Sobald ein Paket unser Lager verlassen hat, kann die Adresse nicht mehr geändert werden, aber Sie können es mit Ihrer Sendungsnummer beim Zusteller umleiten lassen.",
        "Una vez que el paquete ha salido de nuestro almacén ya no se puede cambiar la dirección, pero puede redirigirlo con el transportista usando su número de seguimiento.",
    ],
    [
        "Your bank declined the payment, usually because of an expired card or a spending limit, so please check with your bank or try another card.",
        "Votre banque a refusé le paiement, généralement à cause d'une carte expirée ou d'un plafond de dépenses, vérifiez donc auprès de votre banque ou essayez une autre carte.",
        "Ihre Bank hat die Zahlung abgelehnt, meistens wegen einer abgelaufenen Karte oder eines Ausgabenlimits, bitte wenden Sie sich an Ihre Bank oder versuchen Sie eine andere Karte.",
        "Su banco rechazó el pago, normalmente por una tarjeta caducada o un límite de gasto, así que consulte con su banco o pruebe con otra tarjeta.",
    ],
    [
        "Standard shipping usually takes three to five working days, and rural addresses can need one or two extra days.",
        "La livraison standard prend généralement de trois à cinq jours ouvrés, et les adresses rurales peuvent nécessiter un ou deux jours supplémentaires.",
        "Der Standardversand dauert in der Regel drei bis fünf Werktage, und ländliche Adressen können ein oder zwei zusätzliche Tage benötigen.",
        "El envío estándar suele tardar de tres a cinco días laborables, y las direcciones rurales pueden necesitar uno o dos días más.",
    ],
    [
        "Yes, you can cancel at any time from your account settings and you keep access until the end of the current billing period.",
        "Oui, vous pouvez résilier à tout moment depuis les paramètres de votre compte et vous gardez l'accès jusqu'à la fin de la période de facturation en cours.",
        "Ja, Sie können jederzeit in Ihren Kontoeinstellungen kündigen und behalten den Zugang bis zum Ende des aktuellen Abrechnungszeitraums.",
        "Sí, puede cancelar en cualquier momento desde la configuración de su cuenta y mantendrá el acceso hasta el final del período de facturación actual.",
    ],
];

/// A refusal in each language.
pub const REFUSALS: [&str; 4] = [
    "I'm sorry, but I can't help with that request.",
    "Je suis désolé, mais je ne peux pas vous aider avec cette demande.",
    "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.",
    "Lo siento, pero no puedo ayudar con esa solicitud.",
];

/// A user asking again, in each language, prefixed to the original question.
pub const REPHRASE_PREFIX: [&str; 4] = ["Sorry, again: ", "Pardon, encore une fois : ", "Nochmal bitte: ", "Perdón, otra vez: "];

/// Answers that leak someone else's contact details.
pub const PII_ANSWERS: &[&str] = &[
    "You can reach our account manager directly at jane.doe@example-corp.com for this.",
    "Please call our billing specialist on +1 415 555 0137 to sort this out.",
    "The card on file is 4111 1111 1111 1111, expiring next year.",
];

pub const JSON_QUESTION: &str = "Return the order status as JSON with fields id and status.";
pub const JSON_ANSWER: &str = r#"{"id": "A-1042", "status": "shipped"}"#;
pub const BROKEN_JSON_ANSWER: &str = r#"Here is the status: {"id": "A-1042", "status": shipped"#;
