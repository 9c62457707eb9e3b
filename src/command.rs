//! The one `Command` enum every front end builds. Its serde form, tagged by `cmd`, *is* the
//! headless protocol of SPEC §8; the console builds the same values from keys and forms.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{DispatchError, ErrorCode};
use crate::model::{AccountStatus, CertificationType, Channel, PaymentMethod, RequestType};

fn yes() -> bool {
    true
}

/// `add_mechanic`: every mechanics field of SPEC §2 except timestamps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AddMechanic {
    pub id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub state_province: Option<String>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub years_experience: i64,
    pub rating: f64,
    pub completed_sessions: i64,
    pub profile_completion_score: i64,
    pub account_status: Option<AccountStatus>,
    pub currently_on_shift: bool,
    /// Legacy; accepted for old exports and ignored: it always mirrors `currently_on_shift`.
    pub is_available: Option<bool>,
    pub certification_type: Option<CertificationType>,
    pub certification_number: Option<String>,
    pub certification_authority: Option<String>,
    pub certification_region: Option<String>,
    pub certification_expiry: Option<NaiveDate>,
    pub red_seal_certified: bool,
    pub red_seal_number: Option<String>,
    pub red_seal_province: Option<String>,
    pub is_brand_specialist: bool,
    pub brand_specializations: Vec<String>,
    pub service_keywords: Vec<String>,
    /// Matched sessions at once, 1–10,000; 1 when not given.
    pub max_active_sessions: Option<i64>,
    /// Channels for his offers (sms, email, push); default sms when a phone is known, else
    /// email (SPEC §2).
    pub notify_via: Option<Vec<Channel>>,
    /// IANA time zone of his plan; America/Toronto when not given (SPEC §2).
    pub timezone: Option<String>,
    /// Weekly plan (SPEC §14): `[{"day":"mon","start":"08:00","end":"16:00"}, …]`.
    pub shifts: Vec<crate::schedule::ShiftInput>,
}

/// `set_shifts`: a mechanic's weekly plan, replaced whole; his time zone too when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetShifts {
    pub mechanic: String,
    #[serde(default)]
    pub timezone: Option<String>,
    pub shifts: Vec<crate::schedule::ShiftInput>,
}

/// `slots`: the matching input of `browse`, plus the window (SPEC §14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotsRequest {
    #[serde(flatten)]
    pub intake: IntakeRequest,
    /// RFC 3339; now when not given.
    #[serde(default)]
    pub from: Option<String>,
    /// 1–14; 7 when not given.
    #[serde(default)]
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Customer {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Location {
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Vehicle {
    pub year: Option<i64>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub vin: Option<String>,
}

/// `intake` (and `browse`, which ignores `id` and writes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeRequest {
    pub id: Option<String>,
    pub customer: Customer,
    pub location: Location,
    pub vehicle: Vehicle,
    pub concern: String,
    pub payment_method: Option<PaymentMethod>,
    pub urgent: bool,
    pub request_type: RequestType,
    pub brands: Vec<String>,
    pub preferred_mechanic: Option<String>,
    #[serde(default = "yes")]
    pub prefer_local: bool,
    #[serde(default = "yes")]
    pub waiver_signed: bool,
    #[serde(default = "yes")]
    pub payment_confirmed: bool,
    /// Book for later (SPEC §14): RFC 3339, 15 minutes to 14 days ahead.
    pub scheduled_for: Option<String>,
}

impl Default for IntakeRequest {
    fn default() -> Self {
        IntakeRequest {
            id: None,
            customer: Customer::default(),
            location: Location::default(),
            vehicle: Vehicle::default(),
            concern: String::new(),
            payment_method: None,
            urgent: false,
            request_type: RequestType::General,
            brands: Vec::new(),
            preferred_mechanic: None,
            prefer_local: true,
            waiver_signed: true,
            payment_confirmed: true,
            scheduled_for: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSeeds {
    pub path: String,
    /// The file's text, read by the front end ([`crate::seeds::read_named_files`]); never
    /// part of the protocol.
    #[serde(skip)]
    pub contents: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MechanicRef {
    pub mechanic: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRef {
    pub session: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionMechanic {
    pub session: String,
    pub mechanic: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdRef {
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JoinWaitlist {
    pub id: Option<String>,
    pub session: Option<String>,
    /// Defaults to the session's customer when a session is given.
    pub customer: Option<Customer>,
    /// Defaults to `["email"]`.
    pub notify_via: Option<Vec<Channel>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SetFlag {
    pub enabled: Option<bool>,
    pub rollout_percent: Option<i64>,
}

/// `set_setting`: one dispatch setting by name (today `escalate_after_seconds`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSetting {
    pub name: String,
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    pub seconds: i64,
}

/// Commands without input; unknown fields are still refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// Declares the commands once: the enum, their protocol names, and the parser that reports the
/// exact field a bad value sits in.
macro_rules! commands {
    ($($name:literal => $variant:ident($ty:ty)),+ $(,)?) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "cmd")]
        pub enum Command {
            $(#[serde(rename = $name)] $variant($ty)),+
        }

        impl Command {
            /// Every command name of the protocol.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// Commands that only read: a front end need not refresh its view after them. Read
            /// from the command table, the one place that decides it.
            pub fn is_read_only(&self) -> bool {
                !crate::command_table::writes(self.name())
            }

            pub fn name(&self) -> &'static str {
                match self { $(Command::$variant(_) => $name),+ }
            }

            /// The JSON Schema of a command's fields (all but `cmd`), from its type: what the
            /// OpenAPI document publishes.
            pub fn fields_schema(
                name: &str,
                generator: &mut schemars::SchemaGenerator,
            ) -> Option<schemars::Schema> {
                match name {
                    $($name => Some(<$ty as JsonSchema>::json_schema(generator)),)+
                    _ => None,
                }
            }

            fn from_fields(name: &str, fields: Value) -> Option<Result<Command, DispatchError>> {
                match name {
                    $($name => Some(fields_of::<$ty>(fields).map(Command::$variant)),)+
                    _ => None,
                }
            }
        }
    };
}

commands! {
    "add_mechanic" => AddMechanic(AddMechanic),
    "load_seeds" => LoadSeeds(LoadSeeds),
    "clock_in" => ClockIn(MechanicRef),
    "clock_out" => ClockOut(MechanicRef),
    "intake" => Intake(IntakeRequest),
    "browse" => Browse(IntakeRequest),
    "sign_waiver" => SignWaiver(SessionRef),
    "confirm_payment" => ConfirmPayment(SessionRef),
    "accept" => Accept(SessionMechanic),
    "decline" => Decline(SessionMechanic),
    "complete" => Complete(SessionRef),
    "cancel" => Cancel(SessionRef),
    "queue" => Queue(MechanicRef),
    "session" => Session(IdRef),
    "join_waitlist" => JoinWaitlist(JoinWaitlist),
    "cancel_waitlist" => CancelWaitlist(IdRef),
    "waitlist" => Waitlist(NoInput),
    "notifications" => Notifications(NoInput),
    "deliver" => Deliver(NoInput),
    "set_preferred" => SetPreferred(SessionMechanic),
    "mechanics" => Mechanics(NoInput),
    "eligibility" => Eligibility(SessionRef),
    "set_flag" => SetFlag(SetFlag),
    "set_setting" => SetSetting(SetSetting),
    "advance" => Advance(Advance),
    "tick" => Tick(NoInput),
    "now" => Now(NoInput),
    "report" => Report(NoInput),
    "set_shifts" => SetShifts(SetShifts),
    "slots" => Slots(SlotsRequest),
}

impl Command {
    /// The mechanic a command acts for, when it names one.
    pub fn mechanic(&self) -> Option<&str> {
        use Command as C;
        match self {
            C::ClockIn(r) | C::ClockOut(r) | C::Queue(r) => Some(&r.mechanic),
            C::Accept(r) | C::Decline(r) | C::SetPreferred(r) => Some(&r.mechanic),
            C::SetShifts(r) => Some(&r.mechanic),
            _ => None,
        }
    }

    /// The session a command names, if any.
    pub fn session(&self) -> Option<&str> {
        use Command as C;
        match self {
            C::SignWaiver(r)
            | C::ConfirmPayment(r)
            | C::Complete(r)
            | C::Cancel(r)
            | C::Eligibility(r) => Some(&r.session),
            C::Accept(r) | C::Decline(r) | C::SetPreferred(r) => Some(&r.session),
            C::Session(r) => Some(&r.id),
            C::JoinWaitlist(r) => r.session.as_deref(),
            _ => None,
        }
    }
}

/// Longest command line accepted; a longer one is refused before it is parsed.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A line that could not become a command, with the command name when one was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub cmd: Option<String>,
    pub error: DispatchError,
}

/// Parses one protocol line: `parse_error` for bad JSON, `unknown_command` for a name outside
/// the table, `invalid_input` naming the field for a value of the wrong shape.
pub fn parse_line(line: &str) -> Result<Command, Rejected> {
    let reject = |cmd: Option<String>, error| Rejected { cmd, error };
    if line.len() > MAX_LINE_BYTES {
        return Err(reject(
            None,
            DispatchError::new(
                ErrorCode::ParseError,
                format!("The line is longer than the {MAX_LINE_BYTES}-byte limit."),
            ),
        ));
    }
    let value: Value = crate::json::from_str(line).map_err(|e| {
        reject(
            None,
            DispatchError::new(ErrorCode::ParseError, format!("Not valid JSON: {e}.")),
        )
    })?;
    parse_value(value)
}

/// Reads a command from JSON already parsed strictly (the HTTP API parses the body, fills in a
/// mechanic token's own id, and hands the value here: one parser for every front end).
pub fn parse_value(value: Value) -> Result<Command, Rejected> {
    let reject = |cmd: Option<String>, error| Rejected { cmd, error };
    let Value::Object(mut fields) = value else {
        return Err(reject(
            None,
            DispatchError::new(ErrorCode::ParseError, "A command must be a JSON object."),
        ));
    };
    let name = match fields.remove("cmd") {
        Some(Value::String(name)) => name,
        Some(_) => {
            return Err(reject(
                None,
                DispatchError::invalid("cmd", "The \"cmd\" field must be a string."),
            ));
        }
        None => {
            return Err(reject(
                None,
                DispatchError::invalid("cmd", "Every command needs a \"cmd\" field."),
            ));
        }
    };
    if let Err(error) = objects_stay_objects(&fields) {
        return Err(reject(Some(name), error));
    }
    if name == "slots" {
        return slots_from_fields(fields).map_err(|error| reject(Some(name), error));
    }
    // `session` names its session `session`, as every other command does; `id` stays as the
    // older spelling.
    if name == "session"
        && !fields.contains_key("id")
        && let Some(session) = fields.remove("session")
    {
        fields.insert("id".to_string(), session);
    }
    match Command::from_fields(&name, Value::Object(fields)) {
        Some(Ok(cmd)) => Ok(cmd),
        Some(Err(error)) => Err(reject(Some(name), error)),
        None => {
            let error = DispatchError::new(
                ErrorCode::UnknownCommand,
                format!(
                    "Unknown command \"{}\"; known commands: {}.",
                    crate::text::inert(&name),
                    Command::NAMES.join(", ")
                ),
            )
            .with_field("cmd");
            Err(reject(Some(name), error))
        }
    }
}

/// serde reads a JSON array into a struct, field by field in order (`"vehicle": [2019,
/// "Honda"]`); the protocol's objects are objects, as its OpenAPI document says. The fields
/// that hold one are checked here.
fn objects_stay_objects(fields: &serde_json::Map<String, Value>) -> Result<(), DispatchError> {
    let not_an_object = |field: String| {
        DispatchError::invalid(&field, format!("The {field} must be a JSON object."))
    };
    for key in ["customer", "location", "vehicle"] {
        if let Some(Value::Array(_)) = fields.get(key) {
            return Err(not_an_object(key.to_string()));
        }
    }
    if let Some(Value::Array(shifts)) = fields.get("shifts")
        && let Some(i) = shifts.iter().position(Value::is_array)
    {
        return Err(not_an_object(format!("shifts[{i}]")));
    }
    Ok(())
}

/// `slots` is `browse`'s input plus a window. Read in two parts rather than through serde's
/// `flatten`, which loses the path of a bad nested field (`zip` instead of `location.zip`).
fn slots_from_fields(mut fields: serde_json::Map<String, Value>) -> Result<Command, DispatchError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Window {
        from: Option<String>,
        days: Option<i64>,
    }
    let mut window = serde_json::Map::new();
    for key in ["from", "days"] {
        if let Some(v) = fields.remove(key) {
            window.insert(key.to_string(), v);
        }
    }
    let window: Window = fields_of(Value::Object(window))?;
    Ok(Command::Slots(SlotsRequest {
        intake: fields_of(Value::Object(fields))?,
        from: window.from,
        days: window.days,
    }))
}

fn fields_of<T: serde::de::DeserializeOwned>(fields: Value) -> Result<T, DispatchError> {
    serde_path_to_error::deserialize(fields).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // A missing field is reported at its parent (an unknown one at itself): name the field.
        let field = quoted_field(&inner)
            .map(|f| match path.as_str() {
                "." => f.to_string(),
                p if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
                p => format!("{p}.{f}"),
            })
            .unwrap_or(path);
        let field = if field == "." { String::new() } else { field };
        let message = if field.is_empty() {
            format!("Invalid input: {inner}.")
        } else {
            format!("Invalid value for {field}: {inner}.")
        };
        DispatchError {
            code: ErrorCode::InvalidInput,
            message,
            field: (!field.is_empty()).then_some(field),
            cause: crate::error::Cause::Refused,
        }
    })
}

/// The field named in serde's "unknown field `x`" / "missing field `x`" messages.
fn quoted_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_round_trips_through_its_protocol_form() {
        let cmd = parse_line(r#"{"cmd":"accept","session":"S1","mechanic":"m1"}"#).unwrap();
        assert_eq!(
            cmd,
            Command::Accept(SessionMechanic {
                session: "S1".into(),
                mechanic: "m1".into()
            })
        );
        let text = serde_json::to_string(&cmd).unwrap();
        assert_eq!(parse_line(&text).unwrap(), cmd);
    }

    #[test]
    fn every_name_parses_or_names_its_missing_field() {
        for name in Command::NAMES {
            match parse_line(&format!(r#"{{"cmd":"{name}"}}"#)) {
                Ok(cmd) => assert_eq!(cmd.name(), *name),
                Err(r) => {
                    assert_eq!(r.error.code, ErrorCode::InvalidInput, "{name}");
                    assert!(r.error.field.is_some(), "{name}: {:?}", r.error);
                }
            }
        }
    }

    #[test]
    fn bad_lines_get_the_right_codes_and_fields() {
        let code = |l: &str| parse_line(l).unwrap_err().error;
        assert_eq!(code("{nope").code, ErrorCode::ParseError);
        assert_eq!(code("[1,2]").code, ErrorCode::ParseError);
        assert_eq!(code(r#"{"cmd":"fly"}"#).code, ErrorCode::UnknownCommand);
        let e = code(r#"{"cmd":"intake","payment_method":"bitcoin"}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::InvalidInput, Some("payment_method"))
        );
        let e = code(r#"{"cmd":"intake","customer":{"email":5}}"#);
        assert_eq!(e.field.as_deref(), Some("customer.email"));
        let e = code(r#"{"cmd":"intake","concen":"typo"}"#);
        assert_eq!(e.field.as_deref(), Some("concen"));
        let e = code(r#"{"cmd":"intake","location":{"zip":"x"}}"#);
        assert_eq!(e.field.as_deref(), Some("location.zip"));
        let e = code(r#"{"cmd":"accept","session":"S1"}"#);
        assert_eq!(e.field.as_deref(), Some("mechanic"));
        let e = code(r#"{"cmd":"join_waitlist","notify_via":["fax"]}"#);
        assert_eq!(e.field.as_deref(), Some("notify_via[0]"));
        let e = code(r#"{"cmd":"slots","location":{"zip":"x"}}"#);
        assert_eq!(e.field.as_deref(), Some("location.zip"));
        let e = code(r#"{"cmd":"slots","days":"7"}"#);
        assert_eq!(e.field.as_deref(), Some("days"));
        let e = code(r#"{"cmd":"intake","vehicle":[2019,"Honda"]}"#);
        assert_eq!(e.field.as_deref(), Some("vehicle"));
        let e = code(r#"{"cmd":"set_shifts","mechanic":"m","shifts":[["mon","08:00","16:00"]]}"#);
        assert_eq!(e.field.as_deref(), Some("shifts[0]"));
        let e = code(r#"{"cmd":"tick","extra":1}"#);
        assert_eq!(e.field.as_deref(), Some("extra"));
        assert_eq!(code(r#"{"cmd":7}"#).field.as_deref(), Some("cmd"));
    }

    #[test]
    fn an_oversized_line_is_refused_before_parsing() {
        let line = format!(
            r#"{{"cmd":"intake","concern":"{}"}}"#,
            "x".repeat(MAX_LINE_BYTES)
        );
        assert_eq!(
            parse_line(&line).unwrap_err().error.code,
            ErrorCode::ParseError
        );
    }
}
