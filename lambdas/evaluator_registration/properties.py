"""The custom resource's contract, shared by the CDK construct and the handler (one source).

CloudFormation passes every property as a string; the handler returns the attributes below
in ``Data`` (read in the template with ``Fn::GetAtt``).
"""

RESOURCE_TYPE = "Custom::SageMakerEvaluator"

PROP_EVALUATOR_NAME = "EvaluatorName"  # hub content name (also its display name)
PROP_DESCRIPTION = "EvaluatorDescription"  # hub content description
PROP_DOMAIN_ID = "StudioDomainId"  # optional: the Studio domain (an @domain:<id> search keyword)
PROP_LAMBDA_ARN = "LambdaArn"  # the reward function's version-qualified ARN (a new evaluator version per function version)

ATTR_EVALUATOR_ARN = "EvaluatorArn"  # hub content ARN of the current version: ServerlessJobConfig.EvaluatorArn
ATTR_EVALUATOR_VERSION = "EvaluatorVersion"
ATTR_HUB_NAME = "HubName"
