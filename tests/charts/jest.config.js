// charts/eventing rendered by helm (built from the Go module proxy), validated offline by kubeconform,
// applied to a real kube-apiserver; the service images assembled by tools/images and probed.
module.exports = require('../../jest.preset').projectConfig(__dirname, { testTimeout: 300000 });
