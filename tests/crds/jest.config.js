// The generated CRDs of charts/eventing/crds on a real kube-apiserver, read back through kubectl.
module.exports = require('../../jest.preset').projectConfig(__dirname, { testTimeout: 60000 });
