package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podIdentity gives a pod's processes the identity a kubelet would mount:
// a token of the pod's service account, bound to the pod, here in a
// kubeconfig (KUBECONFIG) since the processes run outside any cluster.
// Pods that mount no token (the workers) get none, as on a cluster.
func podIdentity(ctx context.Context, pod *corev1.Pod) ([]string, error) {
	if !ptr.Deref(pod.Spec.AutomountServiceAccountToken, true) {
		return nil, nil
	}
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	sa := &corev1.ServiceAccount{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: name}, sa); err != nil {
		if apierrors.IsNotFound(err) {
			// No service account controller runs, so "default" may not
			// exist: such a pod gets no identity.
			return nil, nil
		}
		return nil, err
	}
	if !ptr.Deref(sa.AutomountServiceAccountToken, true) {
		return nil, nil
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](3600),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	if err := k8s.SubResource("token").Create(ctx, sa, tr); err != nil {
		return nil, err
	}
	path := filepath.Join(workDir, "identity", string(pod.UID)+".kubeconfig")
	if err := writeKubeconfig(path, &clientcmdapi.AuthInfo{Token: tr.Status.Token}); err != nil {
		return nil, err
	}
	return []string{"KUBECONFIG=" + path}, nil
}

// writeKubeconfig writes a kubeconfig for the test API server with the
// given credentials.
func writeKubeconfig(path string, auth *clientcmdapi.AuthInfo) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["e2e"] = auth
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*kc, path)
}

var (
	adminOnce       sync.Once
	adminKubeconfig string
	adminErr        error
)

// admin is a kubeconfig with the suite's own (cluster-admin) credentials,
// for helm.
func admin() (string, error) {
	adminOnce.Do(func() {
		adminKubeconfig = filepath.Join(workDir, "admin.kubeconfig")
		adminErr = writeKubeconfig(adminKubeconfig, &clientcmdapi.AuthInfo{
			ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken})
	})
	return adminKubeconfig, adminErr
}
