"""Application Auto Scaling targets and target-tracking policies, in moto."""

from __future__ import annotations

from infra.offline.registry import Created, Ctx, translator


@translator("aws:appautoscaling/target:Target")
def scalable_target(ctx: Ctx) -> Created:
    i = ctx.inputs
    t = ctx.client("application-autoscaling").register_scalable_target(
        ServiceNamespace=i["serviceNamespace"],
        ResourceId=i["resourceId"],
        ScalableDimension=i["scalableDimension"],
        MinCapacity=int(i["minCapacity"]),
        MaxCapacity=int(i["maxCapacity"]),
    )
    return Created(i["resourceId"], {"arn": t["ScalableTargetARN"]})


@translator("aws:appautoscaling/policy:Policy")
def scaling_policy(ctx: Ctx) -> Created:
    i = ctx.inputs
    config = i["targetTrackingScalingPolicyConfiguration"]
    p = ctx.client("application-autoscaling").put_scaling_policy(
        PolicyName=i["name"],
        ServiceNamespace=i["serviceNamespace"],
        ResourceId=i["resourceId"],
        ScalableDimension=i["scalableDimension"],
        PolicyType=i["policyType"],
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(config["targetValue"]),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": config["predefinedMetricSpecification"]["predefinedMetricType"]
            },
            "DisableScaleIn": bool(config.get("disableScaleIn")),
        },
    )
    return Created(i["name"], {"arn": p["PolicyARN"], "alarmArns": []})
