import * as cdk from 'aws-cdk-lib';

import { namePrefix } from '../catalog';

/**
 * The names and ARNs every part of the stack shares. They are built from names, not from the
 * resources, so that policies never depend on the resources they grant on.
 */
export class PreviewNames {
  /** The SSM root and the previews' log group name: `/dspace-preview/<deployment>`. */
  readonly root: string;
  /** The prefix of every function and of the state machine's name. */
  readonly prefix: string;
  /** The state machine's name. */
  readonly stateMachineName: string;
  /** The state machine's ARN. */
  readonly stateMachineArn: string;
  /** Every execution of the state machine. */
  readonly executionsArn: string;
  /** The build cache repository's name. */
  readonly buildCacheName: string;
  /** The build cache repository's ARN. */
  readonly buildCacheArn: string;
  /** Every preview's task token parameter. */
  readonly taskTokens: string;
  /**
   * Every preview's stop request: a stop asked for while no task token waits is left at
   * previews/<id>/stop-request (the web app writes it); the health poll and the wait act on it.
   */
  readonly stopRequests: string;

  constructor(
    private readonly stack: cdk.Stack,
    /** The deployment name (`PREVIEW_STACK`). */
    readonly deployment: string,
  ) {
    this.root = `/dspace-preview/${deployment}`;
    this.prefix = namePrefix(deployment);
    this.stateMachineName = this.prefix;
    this.stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });
    this.executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachineName}:*`,
      arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
    });
    this.buildCacheName = `${this.prefix}/preview-cache`;
    this.buildCacheArn = stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: this.buildCacheName });
    this.taskTokens = this.param(`${this.root}/previews/*/task-token`);
    this.stopRequests = this.param(`${this.root}/previews/*/stop-request`);
  }

  /** The ARN of an SSM parameter (leading slash or not). */
  param(name: string): string {
    return this.stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
  }

  /** A parameter path's ARNs: the path itself and everything under it. */
  pathArns(p: string): string[] {
    return [this.param(p), this.param(`${p}/*`)];
  }

  /** The ARN of an EC2 resource; `account: ''` for account-less ones (images, snapshots). */
  ec2Arn(resource: string, resourceName: string, account?: string): string {
    return this.stack.formatArn({ service: 'ec2', resource, resourceName, account });
  }
}
