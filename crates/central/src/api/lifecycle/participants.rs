//! Participant applications and decisions (TT-3.1–3.3, P-6.1), breach notices, blocking and
//! liquidation (TT-3.5–3.7).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::lifecycle::participants::{self, ApplicationForm, ApplicationState, ContractTerms};
use crate::{CentralError, CentralStore};

use super::extract::*;

pub(super) async fn submit_application(
    State(store): State<CentralStore>,
    Body(form): Body<ApplicationForm>,
) -> Created<participants::ParticipantApplication> {
    created(participants::submit(&store, &form, now()).await?)
}

pub(super) async fn list_applications(
    State(store): State<CentralStore>,
    Params(q): Params<StateQuery>,
) -> ApiResult<Vec<participants::ParticipantApplication>> {
    let state = q.state.as_deref().map(str::parse::<ApplicationState>).transpose()?;
    Ok(Json(participants::list_applications(&store, state, now()).await?))
}

pub(super) async fn get_application(
    State(store): State<CentralStore>,
    Id(id): Id,
) -> ApiResult<participants::ParticipantApplication> {
    Ok(Json(participants::application(&store, &id, now()).await?))
}

pub(super) async fn approve_application(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
    Body(terms): Body<ContractTerms>,
) -> ApiResult<participants::Contract> {
    Ok(Json(participants::approve(&store, &id, &terms, who.as_deref(), now()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RefusalBody {
    reasoned_opinion: String,
}

pub(super) async fn refuse_application(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
    Body(body): Body<RefusalBody>,
) -> ApiResult<participants::ParticipantApplication> {
    Ok(Json(participants::refuse(&store, &id, &body.reasoned_opinion, who.as_deref(), now()).await?))
}

pub(super) async fn member_history(
    State(store): State<CentralStore>,
    MemberId(member): MemberId,
) -> ApiResult<Vec<participants::ParticipantEvent>> {
    Ok(Json(participants::history(&store, &member).await?))
}

pub(super) async fn member_contract(
    State(store): State<CentralStore>,
    MemberId(member): MemberId,
) -> ApiResult<participants::Contract> {
    participants::contract(&store, &member)
        .await?
        .map(Json)
        .ok_or_else(|| CentralError::NotFound(format!("no contract with {member}")))
}

pub(super) async fn member_breach_notices(
    State(store): State<CentralStore>,
    MemberId(member): MemberId,
) -> ApiResult<Vec<participants::BreachNotice>> {
    Ok(Json(participants::breach_notices(&store, &member).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BreachBody {
    description: String,
}

pub(super) async fn issue_breach_notice(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    Body(body): Body<BreachBody>,
) -> Created<participants::BreachNotice> {
    created(participants::issue_breach_notice(&store, &member, &body.description, who.as_deref(), now()).await?)
}

pub(super) async fn block_member(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    Body(body): Body<ReasonBody>,
) -> ApiResult<participants::MemberStatus> {
    Ok(Json(participants::block(&store, &member, &body.reason, who.as_deref(), now()).await?))
}

pub(super) async fn unblock_member(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    OptionalBody(body): OptionalBody<OptionalReasonBody>,
) -> ApiResult<participants::MemberStatus> {
    Ok(Json(participants::unblock(&store, &member, body.reason.as_deref(), who.as_deref(), now()).await?))
}

pub(super) async fn liquidate_member(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    Body(body): Body<ReasonBody>,
) -> ApiResult<participants::MemberStatus> {
    Ok(Json(participants::liquidate(&store, &member, &body.reason, who.as_deref(), now()).await?))
}

pub(super) async fn breach_remedied(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<participants::BreachNotice> {
    Ok(Json(participants::mark_remedied(&store, &id, who.as_deref(), now()).await?))
}

pub(super) async fn breach_disconnect(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<participants::BreachNotice> {
    Ok(Json(participants::disconnect_for_breach(&store, &id, who.as_deref(), now()).await?))
}

pub(super) async fn breach_disconnect_overdue(
    State(store): State<CentralStore>,
    Actor(who): Actor,
) -> ApiResult<Vec<participants::BreachNotice>> {
    Ok(Json(participants::disconnect_overdue(&store, who.as_deref(), now()).await?))
}
