package transform

import "strings"

// Change types of the default catalogue.
const (
	ChangeNetworking   = "networking"
	ChangeLoadBalancer = "load_balancing"
	ChangeDNS          = "dns"
	ChangeIAM          = "iam"
	ChangeCompute      = "compute_config"
	ChangeAutoscaling  = "autoscaling"
	ChangeDeployment   = "deployment"
	ChangeIaC          = "infrastructure_as_code"
	ChangeData         = "data_store"
	ChangeSecurity     = "security"
	ChangeProvider     = "provider" // AWS Health: AWS's own changes and issues
	ChangeOther        = "other"
)

// Risk classes.
const (
	RiskCritical = "critical"
	RiskHigh     = "high"
	RiskMedium   = "medium"
	RiskLow      = "low"
)

// DefaultCatalogue classifies change operations by service (the eventSource
// prefix, or for Config items the resource's service; the Google Cloud
// service's short name; the Azure resource provider) and operation
// (CloudTrail eventName, Config resource type, EventBridge detail-type,
// Google Cloud methodName without its version, Azure operationName).
// Entries are tried in order; the first match wins. Config entries are
// tried before these, so they can override any default.
var DefaultCatalogue = []CatalogueEntry{
	// Networking: routes, NACLs and gateways cut traffic outright.
	{"ec2", "CreateRoute", ChangeNetworking, RiskCritical},
	{"ec2", "ReplaceRoute", ChangeNetworking, RiskCritical},
	{"ec2", "DeleteRoute", ChangeNetworking, RiskCritical},
	{"ec2", "ReplaceRouteTableAssociation", ChangeNetworking, RiskCritical},
	{"ec2", "AssociateRouteTable", ChangeNetworking, RiskHigh},
	{"ec2", "DisassociateRouteTable", ChangeNetworking, RiskHigh},
	{"ec2", "CreateRouteTable", ChangeNetworking, RiskMedium},
	{"ec2", "DeleteRouteTable", ChangeNetworking, RiskHigh},
	{"ec2", "*RouteTable*", ChangeNetworking, RiskHigh},
	{"ec2", "CreateNetworkAclEntry", ChangeNetworking, RiskCritical},
	{"ec2", "ReplaceNetworkAclEntry", ChangeNetworking, RiskCritical},
	{"ec2", "DeleteNetworkAclEntry", ChangeNetworking, RiskCritical},
	{"ec2", "ReplaceNetworkAclAssociation", ChangeNetworking, RiskCritical},
	{"ec2", "*NetworkAcl*", ChangeNetworking, RiskHigh},
	{"ec2", "AuthorizeSecurityGroup*", ChangeNetworking, RiskHigh},
	{"ec2", "RevokeSecurityGroup*", ChangeNetworking, RiskHigh},
	{"ec2", "ModifySecurityGroupRules", ChangeNetworking, RiskHigh},
	{"ec2", "UpdateSecurityGroupRuleDescriptions*", ChangeNetworking, RiskLow},
	{"ec2", "*SecurityGroup*", ChangeNetworking, RiskMedium},
	{"ec2", "DetachInternetGateway", ChangeNetworking, RiskCritical},
	{"ec2", "DeleteInternetGateway", ChangeNetworking, RiskCritical},
	{"ec2", "*NatGateway*", ChangeNetworking, RiskHigh},
	{"ec2", "*TransitGateway*", ChangeNetworking, RiskHigh},
	{"ec2", "*VpcPeering*", ChangeNetworking, RiskHigh},
	{"ec2", "*VpcEndpoint*", ChangeNetworking, RiskMedium},
	{"ec2", "ModifyVpc*", ChangeNetworking, RiskMedium},
	{"ec2", "ModifySubnet*", ChangeNetworking, RiskMedium},
	{"ec2", "*Subnet*", ChangeNetworking, RiskMedium},
	{"ec2", "*Vpc*", ChangeNetworking, RiskMedium},
	{"ec2", "*NetworkInterface*", ChangeNetworking, RiskLow},
	{"ec2", "*Address*", ChangeNetworking, RiskMedium},
	{"network-firewall", "*", ChangeNetworking, RiskHigh},
	{"directconnect", "*", ChangeNetworking, RiskHigh},
	{"globalaccelerator", "*", ChangeNetworking, RiskHigh},
	{"cloudfront", "UpdateDistribution", ChangeNetworking, RiskHigh},
	{"cloudfront", "*", ChangeNetworking, RiskMedium},
	{"wafv2", "*", ChangeSecurity, RiskHigh},
	{"waf", "*", ChangeSecurity, RiskHigh},

	// Load balancing: listeners and rules route every request.
	{"elasticloadbalancing", "DeleteLoadBalancer", ChangeLoadBalancer, RiskCritical},
	{"elasticloadbalancing", "ModifyListener*", ChangeLoadBalancer, RiskCritical},
	{"elasticloadbalancing", "DeleteListener", ChangeLoadBalancer, RiskCritical},
	{"elasticloadbalancing", "CreateListener", ChangeLoadBalancer, RiskHigh},
	{"elasticloadbalancing", "*Rule*", ChangeLoadBalancer, RiskHigh},
	{"elasticloadbalancing", "DeregisterTargets", ChangeLoadBalancer, RiskHigh},
	{"elasticloadbalancing", "RegisterTargets", ChangeLoadBalancer, RiskMedium},
	{"elasticloadbalancing", "*TargetGroup*", ChangeLoadBalancer, RiskHigh},
	{"elasticloadbalancing", "SetSecurityGroups", ChangeLoadBalancer, RiskHigh},
	{"elasticloadbalancing", "SetSubnets", ChangeLoadBalancer, RiskHigh},
	{"elasticloadbalancing", "*", ChangeLoadBalancer, RiskMedium},

	// DNS.
	{"route53", "ChangeResourceRecordSets", ChangeDNS, RiskCritical},
	{"route53", "DeleteHostedZone", ChangeDNS, RiskCritical},
	{"route53", "*HealthCheck*", ChangeDNS, RiskMedium},
	{"route53", "*", ChangeDNS, RiskHigh},
	{"route53resolver", "*", ChangeDNS, RiskHigh},
	{"servicediscovery", "*", ChangeDNS, RiskMedium},

	// IAM and keys: permissions break callers silently.
	{"iam", "Put*Policy", ChangeIAM, RiskHigh},
	{"iam", "Attach*Policy", ChangeIAM, RiskHigh},
	{"iam", "Detach*Policy", ChangeIAM, RiskHigh},
	{"iam", "Delete*Policy", ChangeIAM, RiskHigh},
	{"iam", "CreatePolicyVersion", ChangeIAM, RiskHigh},
	{"iam", "SetDefaultPolicyVersion", ChangeIAM, RiskHigh},
	{"iam", "UpdateAssumeRolePolicy", ChangeIAM, RiskHigh},
	{"iam", "DeleteRole", ChangeIAM, RiskHigh},
	{"iam", "*PermissionsBoundary", ChangeIAM, RiskHigh},
	// Google Cloud's IAM service is "iam" too (methodName without its
	// version, google.iam.admin.CreateRole): its entries come before the
	// catch-all below, which covers both clouds.
	{"iam", "google.iam.*SetIamPolicy", ChangeIAM, RiskHigh},
	{"iam", "google.iam.*Role", ChangeIAM, RiskHigh},
	{"iam", "google.iam.*ServiceAccountKey", ChangeSecurity, RiskMedium},
	{"iam", "*", ChangeIAM, RiskMedium},
	{"sts", "*", ChangeIAM, RiskLow},
	{"rolesanywhere", "*", ChangeIAM, RiskHigh},
	{"organizations", "*", ChangeIAM, RiskHigh},
	{"kms", "DisableKey", ChangeSecurity, RiskCritical},
	{"kms", "ScheduleKeyDeletion", ChangeSecurity, RiskCritical},
	{"kms", "PutKeyPolicy", ChangeSecurity, RiskHigh},
	{"kms", "*", ChangeSecurity, RiskMedium},
	{"secretsmanager", "PutSecretValue", ChangeSecurity, RiskHigh},
	{"secretsmanager", "RotateSecret", ChangeSecurity, RiskHigh},
	{"secretsmanager", "*", ChangeSecurity, RiskMedium},
	{"acm", "*", ChangeSecurity, RiskMedium},
	{"cloudtrail", "*", ChangeSecurity, RiskMedium},

	// Compute configuration.
	{"lambda", "UpdateFunctionConfiguration*", ChangeCompute, RiskHigh},
	{"lambda", "UpdateFunctionCode*", ChangeDeployment, RiskHigh},
	{"lambda", "UpdateAlias*", ChangeDeployment, RiskHigh},
	{"lambda", "PublishVersion*", ChangeDeployment, RiskMedium},
	{"lambda", "*Concurrency*", ChangeCompute, RiskHigh},
	{"lambda", "*EventSourceMapping*", ChangeCompute, RiskMedium},
	{"lambda", "*Permission*", ChangeIAM, RiskMedium},
	{"lambda", "DeleteFunction*", ChangeCompute, RiskCritical},
	{"lambda", "*", ChangeCompute, RiskMedium},
	{"ec2", "TerminateInstances", ChangeCompute, RiskHigh},
	{"ec2", "StopInstances", ChangeCompute, RiskHigh},
	{"ec2", "RebootInstances", ChangeCompute, RiskMedium},
	{"ec2", "ModifyInstanceAttribute", ChangeCompute, RiskMedium},
	{"ec2", "*LaunchTemplate*", ChangeCompute, RiskMedium},
	{"ec2", "RunInstances", ChangeCompute, RiskLow},
	{"ec2", "StartInstances", ChangeCompute, RiskLow},
	{"ec2", "Modify*Attribute", ChangeCompute, RiskMedium},
	{"ec2", "EnableSerialConsoleAccess", ChangeSecurity, RiskMedium},
	{"ecs", "UpdateService", ChangeDeployment, RiskHigh},
	{"ecs", "DeleteService", ChangeCompute, RiskCritical},
	{"ecs", "RegisterTaskDefinition", ChangeDeployment, RiskMedium},
	{"ecs", "*", ChangeCompute, RiskMedium},
	{"eks", "*", ChangeCompute, RiskHigh},
	{"rds", "ModifyDB*", ChangeData, RiskHigh},
	{"rds", "RebootDB*", ChangeData, RiskHigh},
	{"rds", "FailoverDB*", ChangeData, RiskHigh},
	{"rds", "DeleteDB*", ChangeData, RiskCritical},
	{"rds", "*", ChangeData, RiskMedium},
	{"dynamodb", "UpdateTable", ChangeData, RiskHigh},
	{"dynamodb", "DeleteTable", ChangeData, RiskCritical},
	{"dynamodb", "*", ChangeData, RiskMedium},
	{"elasticache", "*", ChangeData, RiskHigh},
	{"s3", "PutBucketPolicy", ChangeSecurity, RiskHigh},
	{"s3", "DeleteBucket*", ChangeData, RiskHigh},
	{"s3", "*", ChangeData, RiskLow},
	{"ssm", "PutParameter", ChangeCompute, RiskMedium},
	{"ssm", "*", ChangeCompute, RiskLow},
	{"apigateway", "*", ChangeLoadBalancer, RiskHigh},

	// Autoscaling.
	{"autoscaling", "UpdateAutoScalingGroup", ChangeAutoscaling, RiskHigh},
	{"autoscaling", "SetDesiredCapacity", ChangeAutoscaling, RiskMedium},
	{"autoscaling", "PutScalingPolicy", ChangeAutoscaling, RiskMedium},
	{"autoscaling", "SuspendProcesses", ChangeAutoscaling, RiskHigh},
	{"autoscaling", "DeleteAutoScalingGroup", ChangeAutoscaling, RiskCritical},
	{"autoscaling", "EC2 Instance Terminate*", ChangeAutoscaling, RiskMedium},
	{"autoscaling", "EC2 Instance Launch*", ChangeAutoscaling, RiskLow},
	{"autoscaling", "*", ChangeAutoscaling, RiskMedium},
	{"application-autoscaling", "*", ChangeAutoscaling, RiskMedium},

	// Deployment.
	{"codedeploy", "*", ChangeDeployment, RiskHigh},
	{"codepipeline", "*", ChangeDeployment, RiskMedium},
	{"codebuild", "*", ChangeDeployment, RiskLow},
	{"deploy", "*", ChangeDeployment, RiskHigh},
	{"appconfig", "StartDeployment", ChangeDeployment, RiskHigh},

	// Infrastructure as code.
	{"cloudformation", "DeleteStack*", ChangeIaC, RiskCritical},
	{"cloudformation", "UpdateStack*", ChangeIaC, RiskHigh},
	{"cloudformation", "ExecuteChangeSet", ChangeIaC, RiskHigh},
	{"cloudformation", "CreateStack*", ChangeIaC, RiskMedium},
	{"cloudformation", "CreateChangeSet", ChangeIaC, RiskLow},
	{"cloudformation", "*", ChangeIaC, RiskMedium},

	// Google Cloud (Cloud Audit Logs): service is the API's short name
	// (compute, dns, iam, sql, gke, ...), operation the methodName without
	// its API version (compute.firewalls.insert).
	{"compute", "compute.firewalls.*", ChangeNetworking, RiskHigh},
	{"compute", "compute.firewallPolicies.*", ChangeNetworking, RiskHigh},
	{"compute", "compute.networkFirewallPolicies.*", ChangeNetworking, RiskHigh},
	{"compute", "compute.routes.*", ChangeNetworking, RiskCritical},
	{"compute", "compute.routers.*", ChangeNetworking, RiskHigh},
	{"compute", "compute.vpnTunnels.*", ChangeNetworking, RiskHigh},
	{"compute", "compute.vpnGateways.*", ChangeNetworking, RiskHigh},
	{"compute", "compute.interconnect*", ChangeNetworking, RiskHigh},
	{"compute", "compute.networks.delete", ChangeNetworking, RiskHigh},
	{"compute", "compute.networks.*", ChangeNetworking, RiskMedium},
	{"compute", "compute.subnetworks.*", ChangeNetworking, RiskMedium},
	{"compute", "compute.*addresses.*", ChangeNetworking, RiskMedium},
	{"compute", "compute.securityPolicies.*", ChangeSecurity, RiskHigh},
	{"compute", "compute.sslCertificates.*", ChangeSecurity, RiskMedium},
	{"compute", "compute.*forwardingRules.*", ChangeLoadBalancer, RiskCritical},
	{"compute", "compute.*backendServices.*", ChangeLoadBalancer, RiskHigh},
	{"compute", "compute.*urlMaps.*", ChangeLoadBalancer, RiskHigh},
	{"compute", "compute.*target*Proxies.*", ChangeLoadBalancer, RiskHigh},
	{"compute", "compute.targetPools.*", ChangeLoadBalancer, RiskHigh},
	{"compute", "compute.*healthChecks.*", ChangeLoadBalancer, RiskHigh},
	{"compute", "compute.*networkEndpointGroups.*", ChangeLoadBalancer, RiskMedium},
	{"compute", "compute.*instanceGroupManagers.delete", ChangeAutoscaling, RiskCritical},
	{"compute", "compute.*instanceGroupManagers.resize*", ChangeAutoscaling, RiskMedium},
	{"compute", "compute.*instanceGroupManagers.*", ChangeDeployment, RiskHigh},
	{"compute", "compute.*autoscalers.*", ChangeAutoscaling, RiskMedium},
	{"compute", "compute.instanceTemplates.*", ChangeCompute, RiskMedium},
	{"compute", "compute.instances.delete", ChangeCompute, RiskHigh},
	{"compute", "compute.instances.stop", ChangeCompute, RiskHigh},
	{"compute", "compute.instances.insert", ChangeCompute, RiskLow},
	{"compute", "compute.instances.start", ChangeCompute, RiskLow},
	{"compute", "compute.*", ChangeCompute, RiskMedium},
	{"dns", "dns.changes.create", ChangeDNS, RiskCritical},
	{"dns", "dns.resourceRecordSets.*", ChangeDNS, RiskCritical},
	{"dns", "dns.managedZones.delete", ChangeDNS, RiskCritical},
	{"dns", "*", ChangeDNS, RiskHigh},
	{"cloudresourcemanager", "SetIamPolicy", ChangeIAM, RiskHigh},
	{"cloudresourcemanager", "*", ChangeIAM, RiskMedium},
	// Google Cloud IAM (service "iam"): with AWS's IAM entries above.
	{"sql", "cloudsql.instances.delete", ChangeData, RiskCritical},
	{"sql", "cloudsql.instances.update", ChangeData, RiskHigh},
	{"sql", "cloudsql.instances.patch", ChangeData, RiskHigh},
	{"sql", "cloudsql.instances.restart", ChangeData, RiskHigh},
	{"sql", "cloudsql.instances.failover", ChangeData, RiskHigh},
	{"sql", "cloudsql.users.*", ChangeIAM, RiskMedium},
	{"sql", "*", ChangeData, RiskMedium},
	{"gke", "*ClusterManager.DeleteCluster", ChangeCompute, RiskCritical},
	{"gke", "*ClusterManager.SetNodePoolSize", ChangeAutoscaling, RiskMedium},
	{"gke", "*ClusterManager.SetNodePoolAutoscaling", ChangeAutoscaling, RiskMedium},
	{"gke", "*ClusterManager.*", ChangeCompute, RiskHigh},
	{"gke", "io.k8s.apps.replicasets.*", ChangeDeployment, RiskLow},
	{"gke", "io.k8s.apps.*", ChangeDeployment, RiskHigh},
	{"gke", "io.k8s.core.services.*", ChangeLoadBalancer, RiskHigh},
	{"gke", "io.k8s.networking.ingresses.*", ChangeLoadBalancer, RiskHigh},
	{"gke", "io.k8s.networking.networkpolicies.*", ChangeNetworking, RiskHigh},
	{"gke", "io.k8s.core.configmaps.*", ChangeCompute, RiskMedium},
	{"gke", "io.k8s.core.secrets.*", ChangeSecurity, RiskMedium},
	{"gke", "io.k8s.core.pods.*", ChangeCompute, RiskLow},
	{"gke", "io.k8s.autoscaling.*", ChangeAutoscaling, RiskMedium},
	{"gke", "io.k8s.authorization.rbac.*", ChangeIAM, RiskHigh},
	{"gke", "*", ChangeCompute, RiskMedium},
	{"run", "*", ChangeDeployment, RiskHigh},
	{"cloudfunctions", "*", ChangeDeployment, RiskHigh},
	{"appengine", "*", ChangeDeployment, RiskHigh},
	{"clouddeploy", "*", ChangeDeployment, RiskHigh},
	{"cloudbuild", "*", ChangeDeployment, RiskLow},
	{"deploymentmanager", "*", ChangeIaC, RiskMedium},
	{"cloudkms", "*CryptoKeyVersion", ChangeSecurity, RiskHigh},
	{"cloudkms", "*", ChangeSecurity, RiskMedium},
	{"secretmanager", "*", ChangeSecurity, RiskMedium},
	{"storage", "storage.setIamPermissions", ChangeSecurity, RiskHigh},
	{"storage", "*", ChangeData, RiskLow},
	{"redis", "*", ChangeData, RiskHigh},
	{"spanner", "*", ChangeData, RiskHigh},
	{"servicenetworking", "*", ChangeNetworking, RiskHigh},
	{"vpcaccess", "*", ChangeNetworking, RiskMedium},
	{"networkservices", "*", ChangeLoadBalancer, RiskHigh},
	{"networksecurity", "*", ChangeSecurity, RiskHigh},

	// Azure (Activity Log): service is the resource provider namespace,
	// operation the operationName with the namespace canonically cased and
	// the rest lower-cased (Microsoft.Network/networksecuritygroups/write).
	// Matching ignores case, so camelCase patterns match too.
	{"Microsoft.Network", "Microsoft.Network/networkSecurityGroups/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/routeTables/routes/*", ChangeNetworking, RiskCritical},
	{"Microsoft.Network", "Microsoft.Network/routeTables/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/azureFirewalls/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/firewallPolicies/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/virtualNetworks/*", ChangeNetworking, RiskMedium},
	{"Microsoft.Network", "Microsoft.Network/natGateways/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/virtualNetworkGateways/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/expressRouteCircuits/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/loadBalancers/*", ChangeLoadBalancer, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/applicationGateways/*", ChangeLoadBalancer, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/frontDoors/*", ChangeLoadBalancer, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/trafficManagerProfiles/*", ChangeDNS, RiskHigh},
	{"Microsoft.Network", "Microsoft.Network/dnsZones/*", ChangeDNS, RiskCritical},
	{"Microsoft.Network", "Microsoft.Network/privateDnsZones/*", ChangeDNS, RiskCritical},
	{"Microsoft.Network", "Microsoft.Network/networkInterfaces/*", ChangeNetworking, RiskLow},
	{"Microsoft.Network", "*", ChangeNetworking, RiskMedium},
	{"Microsoft.Cdn", "*", ChangeLoadBalancer, RiskHigh},
	{"Microsoft.Compute", "Microsoft.Compute/virtualMachineScaleSets/delete", ChangeAutoscaling, RiskCritical},
	{"Microsoft.Compute", "Microsoft.Compute/virtualMachineScaleSets/*", ChangeAutoscaling, RiskHigh},
	{"Microsoft.Compute", "Microsoft.Compute/virtualMachines/delete", ChangeCompute, RiskHigh},
	{"Microsoft.Compute", "Microsoft.Compute/virtualMachines/deallocate/action", ChangeCompute, RiskHigh},
	{"Microsoft.Compute", "Microsoft.Compute/virtualMachines/powerOff/action", ChangeCompute, RiskHigh},
	{"Microsoft.Compute", "Microsoft.Compute/virtualMachines/start/action", ChangeCompute, RiskLow},
	{"Microsoft.Compute", "*", ChangeCompute, RiskMedium},
	{"Microsoft.ContainerService", "Microsoft.ContainerService/managedClusters/delete", ChangeCompute, RiskCritical},
	{"Microsoft.ContainerService", "*", ChangeCompute, RiskHigh},
	{"Microsoft.Web", "Microsoft.Web/sites/*slotsswap/action", ChangeDeployment, RiskHigh},
	{"Microsoft.Web", "Microsoft.Web/sites/*deployments/*", ChangeDeployment, RiskHigh},
	{"Microsoft.Web", "Microsoft.Web/sites/*extensions/*", ChangeDeployment, RiskHigh},
	{"Microsoft.Web", "Microsoft.Web/sites/*config/*", ChangeCompute, RiskHigh},
	{"Microsoft.Web", "Microsoft.Web/sites/stop/action", ChangeCompute, RiskHigh},
	{"Microsoft.Web", "Microsoft.Web/serverfarms/*", ChangeAutoscaling, RiskMedium},
	{"Microsoft.Web", "*", ChangeCompute, RiskMedium},
	{"Microsoft.Sql", "Microsoft.Sql/servers/firewallRules/*", ChangeNetworking, RiskHigh},
	{"Microsoft.Sql", "Microsoft.Sql/servers/databases/delete", ChangeData, RiskCritical},
	{"Microsoft.Sql", "Microsoft.Sql/servers/databases/*", ChangeData, RiskHigh},
	{"Microsoft.Sql", "Microsoft.Sql/servers/failoverGroups/*", ChangeData, RiskHigh},
	{"Microsoft.Sql", "*", ChangeData, RiskMedium},
	{"Microsoft.DBforPostgreSQL", "*", ChangeData, RiskHigh},
	{"Microsoft.DBforMySQL", "*", ChangeData, RiskHigh},
	{"Microsoft.DocumentDB", "*", ChangeData, RiskHigh},
	{"Microsoft.Cache", "*", ChangeData, RiskHigh},
	{"Microsoft.Storage", "*", ChangeData, RiskMedium},
	{"Microsoft.Authorization", "Microsoft.Authorization/roleAssignments/*", ChangeIAM, RiskHigh},
	{"Microsoft.Authorization", "Microsoft.Authorization/roleDefinitions/*", ChangeIAM, RiskHigh},
	{"Microsoft.Authorization", "Microsoft.Authorization/policyAssignments/*", ChangeSecurity, RiskHigh},
	{"Microsoft.Authorization", "Microsoft.Authorization/locks/*", ChangeSecurity, RiskLow},
	{"Microsoft.Authorization", "*", ChangeIAM, RiskMedium},
	{"Microsoft.ManagedIdentity", "*", ChangeIAM, RiskMedium},
	{"Microsoft.KeyVault", "Microsoft.KeyVault/vaults/accessPolicies/*", ChangeIAM, RiskHigh},
	{"Microsoft.KeyVault", "*", ChangeSecurity, RiskMedium},
	{"Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups/delete", ChangeOther, RiskCritical},
	{"Microsoft.Resources", "Microsoft.Resources/deployments/*", ChangeIaC, RiskHigh},
	{"Microsoft.Resources", "Microsoft.Resources/tags/*", ChangeOther, RiskLow},
	{"Microsoft.Resources", "*", ChangeIaC, RiskMedium},
	{"Microsoft.Insights", "Microsoft.Insights/autoscaleSettings/*", ChangeAutoscaling, RiskMedium},
	{"Microsoft.Insights", "Microsoft.Insights/diagnosticSettings/*", ChangeSecurity, RiskMedium},
	{"Microsoft.ApiManagement", "*", ChangeLoadBalancer, RiskHigh},

	// AWS Config configuration items, by resource type (looked up as service "config").
	{"", "AWS::EC2::RouteTable", ChangeNetworking, RiskCritical},
	{"", "AWS::EC2::NetworkAcl", ChangeNetworking, RiskCritical},
	{"", "AWS::EC2::SecurityGroup", ChangeNetworking, RiskHigh},
	{"", "AWS::EC2::Instance", ChangeCompute, RiskMedium},
	{"", "AWS::EC2::LaunchTemplate", ChangeCompute, RiskMedium},
	{"", "AWS::EC2::Volume", ChangeCompute, RiskLow},
	{"", "AWS::EC2::*", ChangeNetworking, RiskMedium},
	{"", "AWS::ElasticLoadBalancing*", ChangeLoadBalancer, RiskHigh},
	{"", "AWS::Route53*", ChangeDNS, RiskHigh},
	{"", "AWS::IAM::*", ChangeIAM, RiskHigh},
	{"", "AWS::Lambda::*", ChangeCompute, RiskMedium},
	{"", "AWS::AutoScaling::*", ChangeAutoscaling, RiskMedium},
	{"", "AWS::CloudFormation::*", ChangeIaC, RiskMedium},
	{"", "AWS::*", ChangeOther, RiskLow},

	// AWS Health scheduled changes and issues (looked up as service "health").
	{"", "AWS_*", ChangeProvider, RiskHigh},
}

// catalogue matches changes against configured entries, then the defaults.
// Services and operations match regardless of case: Azure writes one
// operation as MICROSOFT.NETWORK/... and Microsoft.Network/..., and a
// configured entry may copy either.
type catalogue struct {
	entries   []CatalogueEntry // services and operations lower-cased
	parts     [][]string       // each entry's operation split at "*"
	byService map[string][]int // service -> indexes of its entries and of the any-service entries, in order
	anyOnly   []int            // indexes of the any-service entries
}

func newCatalogue(extra []CatalogueEntry) *catalogue {
	c := &catalogue{byService: map[string][]int{}}
	c.entries = append(append([]CatalogueEntry{}, extra...), DefaultCatalogue...)
	for i := range c.entries {
		e := &c.entries[i]
		e.Service, e.Operation = strings.ToLower(e.Service), strings.ToLower(e.Operation)
		c.parts = append(c.parts, strings.Split(e.Operation, "*"))
		if e.Service == "" {
			c.anyOnly = append(c.anyOnly, i)
		} else if _, ok := c.byService[e.Service]; !ok {
			c.byService[e.Service] = nil
		}
	}
	for svc := range c.byService {
		var idx []int
		for i, e := range c.entries {
			if e.Service == "" || e.Service == svc {
				idx = append(idx, i)
			}
		}
		c.byService[svc] = idx
	}
	return c
}

// classify returns the change type and risk class of an operation. Deploy,
// AWS Health and AWS Config events are looked up as services "deploy",
// "health" and "config" (entries with an empty service match them too). An operation no entry matches
// is ("other", "low"), or ("provider", "high") for AWS Health.
func (c *catalogue) classify(source, service, op string) (typ, risk string) {
	switch source {
	case SourceDeploy:
		service = SourceDeploy
	case SourceHealth:
		service = SourceHealth
	case SourceConfig:
		service = SourceConfig
	}
	idx, ok := c.byService[service] // AWS and Google Cloud services are lower case already
	if !ok {
		if idx, ok = c.byService[strings.ToLower(service)]; !ok {
			idx = c.anyOnly
		}
	}
	for _, i := range idx {
		if e := &c.entries[i]; matchParts(c.parts[i], op) {
			return orDefault(e.Type, ChangeOther), e.Risk
		}
	}
	if source == SourceHealth {
		return ChangeProvider, RiskHigh
	}
	return ChangeOther, RiskLow
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// matchOp matches an operation against a pattern in which "*" matches any
// run of characters ("Put*", "*RouteTable*", "Put*Policy"), ignoring case.
func matchOp(pat, op string) bool {
	return matchParts(strings.Split(pat, "*"), op)
}

// matchParts is matchOp with the pattern already split at "*".
func matchParts(parts []string, op string) bool {
	if len(parts) == 1 {
		return strings.EqualFold(parts[0], op)
	}
	if !hasPrefixFold(op, parts[0]) {
		return false
	}
	op = op[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := indexFold(op, p)
		if i < 0 {
			return false
		}
		op = op[i+len(p):]
	}
	return len(op) >= len(last) && strings.EqualFold(op[len(op)-len(last):], last)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
