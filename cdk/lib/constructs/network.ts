import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** What the network needs from the stack's props. */
export interface NetworkProps {
  /** The deployment name, for descriptions. */
  readonly deployment: string;
  /** An existing VPC (with `subnetId`); default a new one. */
  readonly vpcId?: string;
  /** The subnet previews launch into. */
  readonly subnetId?: string;
  /** Who may reach previews on port 80 (and 443 with `https`); default everyone. */
  readonly allowedCidrs?: string[];
  /** HTTPS previews: port 443 is open to the same sources as 80 (which stays, for ACME HTTP-01 and the redirect). */
  readonly https?: boolean;
}

/**
 * The previews' network: a VPC (given or new), the subnet they launch into and their security
 * group. Previews are public on port 80 only, and 443 with HTTPS previews.
 *
 * Like every part of the stack this is a plain class that adds its resources to the stack itself,
 * not a child construct: logical ids and some generated names (the VPC's Name tags, event rules'
 * Lambda permissions, CloudFront origin ids) come from construct paths, and a new level in those
 * paths would make CloudFormation replace the resources of a deployed stack.
 */
export class Network {
  /** The VPC (only its id is used when it is given). */
  readonly vpc: ec2.IVpc;
  /** The subnet previews launch into. */
  readonly subnetId: string;
  /** The previews' security group. */
  readonly securityGroup: ec2.SecurityGroup;

  constructor(stack: cdk.Stack, props: NetworkProps) {
    if (props.vpcId !== undefined || props.subnetId !== undefined) {
      if (!props.vpcId || !props.subnetId) throw new Error('give both vpcId and subnetId, or neither');
      this.vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: props.vpcId, availabilityZones: cdk.Fn.getAzs() });
      // Only the VPC id is used (for the security group); subnets come from subnetId.
      cdk.Annotations.of(this.vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'only the VPC id is used');
      this.subnetId = props.subnetId;
    } else {
      // Public subnets only and no NAT gateway: nothing here costs money while idle.
      const created = new ec2.Vpc(stack, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr('10.80.0.0/16'),
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'previews', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
        restrictDefaultSecurityGroup: false,
      });
      this.vpc = created;
      this.subnetId = created.publicSubnets[0].subnetId;
    }
    // The description stays as it is with 443 open too: changing it would replace the group.
    const sg = (this.securityGroup = new ec2.SecurityGroup(stack, 'PreviewSecurityGroup', {
      vpc: this.vpc,
      description: `dspace-preview ${props.deployment}: HTTP (80) in to the preview proxy, anything out`,
      allowAllOutbound: true,
    }));
    for (const cidr of props.allowedCidrs ?? ['0.0.0.0/0', '::/0']) {
      const peer = cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
      sg.addIngressRule(peer, ec2.Port.tcp(80), 'DSpace UI and REST API through the preview proxy');
      if (props.https) sg.addIngressRule(peer, ec2.Port.tcp(443), 'DSpace UI and REST API over HTTPS (Caddy on the preview)');
    }
  }
}
