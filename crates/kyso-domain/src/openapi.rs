//! OpenAPI schemas of the domain's types (feature `openapi`, for the REST API's document):
//! the values of a named enum as a string schema listing its stable names, and the calendar
//! configuration, whose serde form is written by hand.

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, Schema};

use crate::calendar::CalendarConfig;
use crate::Named;

/// A string that is one of `T`'s stable names (the values come from the enum itself).
pub fn names<T: Named>() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::all().iter().map(|v| v.name())))
        .build()
}

/// An array of `T`'s stable names.
pub fn names_array<T: Named>() -> ArrayBuilder {
    ArrayBuilder::new().items(names::<T>())
}

/// Per year (`"2027"`), the days off and the make-up working days (ISO dates).
impl utoipa::PartialSchema for CalendarConfig {
    fn schema() -> RefOr<Schema> {
        let dates = || {
            ArrayBuilder::new().items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
            )
        };
        let year = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "One year's days off (any weekday) and working weekend days",
            ))
            .property("holidays", dates())
            .property("working_days", dates())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "years",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("By year; a year given replaces the built-in schedule"))
                    .property_names(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some("^[0-9]{4}$")),
                    ))
                    .additional_properties(Some(year)),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([serde_json::json!(
                {"years": {"2027": {"holidays": ["2027-01-01"], "working_days": []}}}
            )])
            .into()
    }
}

impl utoipa::ToSchema for CalendarConfig {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::AgencyKind;

    #[test]
    fn a_named_enum_schema_lists_every_stable_name() {
        let json = serde_json::to_value(names::<AgencyKind>()).unwrap_or_default();
        assert_eq!(
            json["enum"],
            serde_json::json!(["province", "department", "commune", "unit", "other"])
        );
        assert_eq!(json["type"], "string");
    }
}
