//! Settings of the requests: the working calendar and who handles each kind.

use super::*;

/// The working-day calendar configuration stored in the `calendar` setting (empty: the
/// built-in Vietnamese calendar alone).
pub async fn calendar_config(store: &Store) -> Result<CalendarConfig> {
    match store.setting(CALENDAR_SETTING).await? {
        Some(v) => serde_json::from_str(&v).map_err(|_| corrupt("calendar setting")),
        None => Ok(CalendarConfig::default()),
    }
}

/// The calendar deadlines are counted with: the built-in one with the configured years.
pub async fn work_calendar(store: &Store) -> Result<WorkCalendar> {
    Ok(WorkCalendar::from_config(&calendar_config(store).await?))
}

/// Read the calendar configuration (Department administrators).
pub async fn get_calendar(store: &Store, actor: &Actor) -> Result<CalendarConfig> {
    actor.may(On::Registry)?;
    calendar_config(store).await
}

/// Replace the calendar configuration (Department administrators). Every date listed under a
/// year must fall in that year.
pub async fn set_calendar(
    store: &Store,
    actor: &Actor,
    config: &CalendarConfig,
    now: OffsetDateTime,
) -> Result<CalendarConfig> {
    // Before the input is looked at.
    actor.may(On::Registry)?;
    for (year, y) in &config.years {
        if !(2000..=2100).contains(year) {
            return Err(Error::invalid(
                "years",
                format!("Năm {year} nằm ngoài khoảng 2000–2100."),
                format!("The year {year} is outside 2000–2100."),
            ));
        }
        if let Some(d) = y
            .holidays
            .iter()
            .chain(y.working_days.iter())
            .find(|d| d.year() != *year)
        {
            return Err(Error::invalid(
                "years",
                format!("Ngày {d} không thuộc năm {year}."),
                format!("The date {d} is not in the year {year}."),
            ));
        }
    }
    let text = serde_json::to_string(config).map_err(|_| corrupt("calendar"))?;
    let mut tx = store.begin_write(actor, On::Registry).await?;
    Store::set_setting(&mut tx, CALENDAR_SETTING, &text).await?;
    tx.commit_audited(
        Event {
            action: "calendar.update",
            object: "settings:calendar".into(),
            agency: None,
            detail: json!({"years": config.years.keys().collect::<Vec<_>>()}),
        },
        now,
    )
    .await?;
    Ok(config.clone())
}

/// Who handles `kind`: the `request_handlers` setting, else [`RequestKind::default_handler`].
pub async fn handler_for(store: &Store, kind: RequestKind) -> Result<Handler> {
    let map: BTreeMap<RequestKind, Handler> = match store.setting(HANDLERS_SETTING).await? {
        Some(v) => serde_json::from_str(&v).map_err(|_| corrupt("request_handlers setting"))?,
        None => BTreeMap::new(),
    };
    Ok(map
        .get(&kind)
        .copied()
        .unwrap_or_else(|| kind.default_handler()))
}

/// Set who handles each request kind (Department administrators); kinds not listed go to
/// their default handler. Requests already created keep theirs.
pub async fn set_handlers(
    store: &Store,
    actor: &Actor,
    handlers: &BTreeMap<RequestKind, Handler>,
    now: OffsetDateTime,
) -> Result<()> {
    let text = serde_json::to_string(handlers).map_err(|_| corrupt("handlers"))?;
    let mut tx = store.begin_write(actor, On::Registry).await?;
    Store::set_setting(&mut tx, HANDLERS_SETTING, &text).await?;
    tx.commit_audited(
        Event {
            action: "request_handlers.update",
            object: "settings:request_handlers".into(),
            agency: None,
            detail: json!(handlers),
        },
        now,
    )
    .await
}
