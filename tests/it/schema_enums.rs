//! Every set of words the code writes into a column is the set the schema's CHECK allows, on
//! both backends: a variant added to one and not the other fails here, not as a constraint
//! error in production (or, worse, as a row the code cannot read back).

use pitwall::model::{
    AccountStatus, AssignmentStatus, CertificationType, DeliveryStatus, MatchType,
    NotificationKind, PaymentMethod, Priority, RequestType, Route, SessionStatus, SkipReason,
    WaitlistStatus,
};

/// The quoted words of the CHECK on `column` inside `CREATE TABLE table (...)`, written either
/// as an IN list (`CHECK (column IN (...))`, or pairs of them) or as one comparison per word
/// (`CHECK (column = '...' OR column = '...')`).
fn check_list(schema: &str, table: &str, column: &str) -> Vec<String> {
    let start = schema
        .find(&format!("CREATE TABLE {table} ("))
        .unwrap_or_else(|| panic!("table {table}"));
    let body = &schema[start..];
    let body = &body[..body.find("\n);").unwrap_or(body.len())];
    let check = format!("CHECK ({column} ");
    let at = body
        .find(&check)
        .unwrap_or_else(|| panic!("no CHECK on {table}.{column}"));
    // The CHECK's own parentheses: up to the one that closes `CHECK (`, quotes skipped.
    let text = &body[at + "CHECK ".len()..];
    let (mut depth, mut quoted, mut end) = (0, false, None);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let list = &text[..end.expect("closing parenthesis")];
    list.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn words<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| as_str(*v).to_string()).collect()
}

#[test]
fn every_text_enum_is_its_columns_check_list_on_both_backends() {
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "mechanics",
            "account_status",
            words(AccountStatus::ALL, AccountStatus::as_str),
        ),
        (
            "mechanics",
            "certification_type",
            words(CertificationType::ALL, CertificationType::as_str),
        ),
        (
            "sessions",
            "status",
            words(SessionStatus::ALL, SessionStatus::as_str),
        ),
        (
            "sessions",
            "payment_method",
            words(PaymentMethod::ALL, PaymentMethod::as_str),
        ),
        (
            "sessions",
            "request_type",
            words(RequestType::ALL, RequestType::as_str),
        ),
        (
            "session_assignments",
            "match_type",
            words(MatchType::ALL, MatchType::as_str),
        ),
        (
            "session_assignments",
            "status",
            words(AssignmentStatus::ALL, AssignmentStatus::as_str),
        ),
        (
            "session_assignments",
            "priority",
            words(Priority::ALL, Priority::as_str),
        ),
        (
            "customer_waitlist",
            "status",
            words(WaitlistStatus::ALL, WaitlistStatus::as_str),
        ),
        (
            "notifications",
            "kind",
            words(NotificationKind::ALL, NotificationKind::as_str),
        ),
        ("notifications", "channel", words(Route::ALL, Route::as_str)),
        (
            "notifications",
            "status",
            words(DeliveryStatus::ALL, DeliveryStatus::as_str),
        ),
        (
            "notifications",
            "skip_reason",
            words(SkipReason::ALL, SkipReason::as_str),
        ),
    ];
    let root = env!("CARGO_MANIFEST_DIR");
    for file in ["schema.sql", "schema_pg.sql"] {
        let schema = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for (table, column, mut code) in cases.clone() {
            let mut allowed = check_list(&schema, table, column);
            code.sort();
            allowed.sort();
            assert_eq!(code, allowed, "{file}: {table}.{column}");
        }
    }
}
