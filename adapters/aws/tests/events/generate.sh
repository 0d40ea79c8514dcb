#!/usr/bin/env bash
# Regenerates the sam-generated fixtures (aws-sam-cli works offline: `pip install aws-sam-cli`).
# Files not written here are AWS's documented samples, each citing its doc page in README.md.
set -euo pipefail
cd "$(dirname "$0")"
SAM=${SAM:-sam}
$SAM local generate-event apigateway aws-proxy --method GET --path orders/42 \
  --resource '/{proxy+}' > sam_apigw_v1.json
$SAM local generate-event apigateway http-api-proxy > sam_apigw_v2.json
$SAM local generate-event alb request > sam_alb.json
$SAM local generate-event sqs receive-message > sam_sqs.json
$SAM local generate-event sns notification > sam_sns.json
$SAM local generate-event s3 put --bucket uploads --key 'photos/cat picture.jpg' > sam_s3_put.json
$SAM local generate-event s3 delete --bucket uploads --key photos/old.jpg > sam_s3_delete.json
$SAM local generate-event cloudwatch scheduled-event > sam_scheduled.json
$SAM local generate-event kinesis get-records > sam_kinesis.json
$SAM local generate-event dynamodb update > sam_dynamodb.json
