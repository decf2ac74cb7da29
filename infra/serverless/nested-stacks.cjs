// A local Serverless plugin: after packaging, adds the stage's alerting (infra/serverless/alarms.ts: a
// topic, an alarm for every function and dead-letter queue, and the rest) and splits the compiled
// template into a root stack and one nested stack per engine (infra/serverless/stacks.ts), writes the
// nested templates beside the root template, and uploads them with the other artifacts on deploy.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const NESTED = /^cloudformation-template-engine-.+\.json$/;

class NestedStacks {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options;
    this.provider = serverless.getProvider('aws');
    this.hooks = {
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.split(),
      'after:aws:deploy:deploy:uploadArtifacts': () => this.upload(),
    };
  }

  /** Where serverless gathers artifacts while it packages and deploys (it moves them to `--package` itself). */
  workPath() {
    return path.join(this.serverless.serviceDir || '.', '.serverless');
  }

  async split() {
    const { splitStacks, headroom } = await import('./stacks.ts');
    const { alarmResources, ALERTS_TOPIC } = await import('./alarms.ts');
    const { loadEngines, placement, stackFileName, stackLogicalId } = await import('./engines.ts');
    const { engines } = await loadEngines();
    const placed = placement(engines);
    const provider = this.serverless.service.provider;
    const template = provider.compiledCloudFormationTemplate;
    const alerting = this.serverless.service.custom?.alerting ?? {};
    Object.assign(
      template.Resources,
      alarmResources(template, {
        prefix: `${this.serverless.service.service}-${this.provider.getStage()}`,
        namespace: provider.environment.POWERTOOLS_METRICS_NAMESPACE,
        service: provider.environment.POWERTOOLS_SERVICE_NAME,
        approvalBacklog: Number(alerting.approvalBacklog ?? 20),
        availabilityObjective: Number(alerting.availabilityObjective ?? 0.999),
      }),
    );
    if (alerting.email) {
      template.Resources.AlertsEmailSubscription = { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: ALERTS_TOPIC }, Protocol: 'email', Endpoint: alerting.email } };
    }
    const directory = this.serverless.service.package.artifactDirectoryName;
    const namedBucket = typeof provider.deploymentBucket === 'string' ? provider.deploymentBucket : provider.deploymentBucketObject?.name;
    const bucket = namedBucket || '${ServerlessDeploymentBucket}';
    const result = splitStacks(template, {
      placeFunction: (logicalId) => placed.get(logicalId),
      stackId: stackLogicalId,
      fileName: stackFileName,
      templateUrl: (file) => ({ 'Fn::Sub': `https://s3.\${AWS::Region}.\${AWS::URLSuffix}/${bucket}/${directory}/${file}` }),
    });
    const out = this.workPath();
    fs.mkdirSync(out, { recursive: true });
    for (const file of fs.readdirSync(out)) if (NESTED.test(file)) fs.rmSync(path.join(out, file));
    for (const [file, nested] of Object.entries(result.nested)) {
      const room = headroom(nested);
      if (!room.withinBudget) throw new this.serverless.classes.Error(`${file} is over budget: ${JSON.stringify(room)}`);
      fs.writeFileSync(path.join(out, file), JSON.stringify(nested, null, 2));
    }
    provider.compiledCloudFormationTemplate = result.root;
  }

  async upload() {
    const out = this.workPath();
    const bucket = await this.provider.getServerlessDeploymentBucketName();
    const directory = this.serverless.service.package.artifactDirectoryName;
    for (const file of fs.readdirSync(out).filter((name) => NESTED.test(name))) {
      await this.provider.request('S3', 'upload', {
        Bucket: bucket,
        Key: `${directory}/${file}`,
        Body: fs.readFileSync(path.join(out, file)),
        ContentType: 'application/json',
      });
    }
  }
}

module.exports = NestedStacks;
