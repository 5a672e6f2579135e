//! Step 1: validate the request and reserve one of N slots, race-free.

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::domain::preview_id::PreviewId;
use crate::domain::request::{PreviewRequest, ValidRequest};
use crate::domain::slots::{try_order, Reservation};
use crate::error::{Result, StepError};
use crate::instances::{self, LIVE_STATES};
use crate::slots;
use crate::step::Step;

/// Input: the execution input plus the execution ARN.
#[derive(Debug, Clone, Deserialize)]
pub struct CapacityInput {
    /// The preview id (execution name).
    pub preview_id: PreviewId,
    /// The request as submitted.
    pub request: PreviewRequest,
    /// The execution ARN (`$$.Execution.Id`).
    #[serde(default)]
    pub execution: String,
}

/// Output: the slot taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityOutput {
    /// Slot number, 1..=max.
    pub slot: u32,
    /// The limit in force.
    pub max_live: u32,
    /// Previews holding a slot before this one.
    pub live_before: u32,
    /// The request as admitted under the dials in force now; the later steps take this one.
    pub request: ValidRequest,
}

/// The capacity step.
pub struct CheckCapacity;

impl Step for CheckCapacity {
    const NAME: &'static str = "check-capacity";
    type Input = CapacityInput;
    type Output = CapacityOutput;
    async fn run(ctx: &Ctx, input: CapacityInput) -> Result<CapacityOutput> {
        check_capacity(ctx, input).await
    }
}

/// Validates the request, then takes a free slot or fails with `NoFreeSlot`.
pub async fn check_capacity(ctx: &Ctx, input: CapacityInput) -> Result<CapacityOutput> {
    input.request.precheck(ctx.base.min_ttl_minutes)?;
    // The three reads are independent (the stack is a deploy-time dial): one round trip, not three.
    let names = ctx.base.names();
    let (config, held, live) = tokio::try_join!(
        ctx.config(),
        slots::held(&ctx.clients.ssm, &names),
        instances::find(&ctx.clients.ec2, &ctx.base.stack, &LIVE_STATES, &[]),
    )?;
    let request = input.request.validate(&config.request_rules())?;
    // A retried invocation finds the slot it already took.
    if let Some((name, _)) = held
        .iter()
        .find(|(_, r)| r.preview_id == input.preview_id.as_str())
    {
        let slot = crate::domain::slots::slot_number(name, u32::MAX).unwrap_or_default();
        return Ok(CapacityOutput {
            slot,
            max_live: config.max_live,
            live_before: count(held.len()).saturating_sub(1),
            request,
        });
    }
    if held.len().max(live.len()) >= config.max_live as usize {
        return Err(StepError::NoFreeSlot {
            max: config.max_live,
        });
    }
    let reservation = Reservation {
        preview_id: input.preview_id.to_string(),
        execution: input.execution.clone(),
        reserved_at: chrono::Utc::now(),
    };
    for slot in try_order(
        config.max_live,
        rand::random::<u32>() % config.max_live.max(1),
    ) {
        if slots::try_take(&ctx.clients.ssm, &names.slot(slot), &reservation).await? {
            tracing::info!(preview = %input.preview_id, slot, "slot reserved");
            return Ok(CapacityOutput {
                slot,
                max_live: config.max_live,
                live_before: count(held.len()),
                request,
            });
        }
    }
    Err(StepError::NoFreeSlot {
        max: config.max_live,
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
