/* gwbpf/features.h - Gateway API features gwbpf reports as supported.
 *
 * Generated at build time from docs/conformance/supported-features.txt,
 * which the conformance runner writes (`tests/conformance/run.py --report`)
 * with exactly the features whose every conformance case passed; the
 * translator puts them into GatewayClass status.supportedFeatures.
 */
#ifndef GWBPF_FEATURES_H
#define GWBPF_FEATURES_H

extern const char *const gw_supported_features[]; /* NULL-terminated, sorted */

#endif
