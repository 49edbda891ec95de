/* SPDX-License-Identifier: MIT */
/* scenarios.h: response bodies the cloud tests script into fake_aws.py (JSON-escaped). */
#ifndef SCENARIOS_H
#define SCENARIOS_H

/* An STS success document; `action` is AssumeRole or AssumeRoleWithWebIdentity. */
#define OK_XML(action)                                                                             \
    "<" action "Response xmlns=\\\"https://sts.amazonaws.com/doc/2011-06-15/\\\"><" action         \
    "Result><Credentials><SessionToken>FQoGZXIvYXdzE+/token=</SessionToken>"                       \
    "<SecretAccessKey>wJalr/XUtnFEMI+K7MDENG</SecretAccessKey>"                                    \
    "<Expiration>2030-01-02T03:04:05Z</Expiration><AccessKeyId>ASIAROLE0001</AccessKeyId>"         \
    "</Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"         \
    "</AssumedRoleUser></" action "Result></" action "Response>"

/* STS rejecting an expired web identity token. */
#define EXPIRED_XML                                                                                \
    "<ErrorResponse xmlns=\\\"https://sts.amazonaws.com/doc/2011-06-15/\\\"><Error>"               \
    "<Type>Sender</Type><Code>ExpiredTokenException</Code><Message>Token expired: current "        \
    "date/time 1700000000 must be before the expiration date/time 1600000000</Message>"            \
    "</Error><RequestId>r-1</RequestId></ErrorResponse>"

/* An STS route answering one action with the given access key id. */
#define STS_ROUTE(action, akid)                                                                    \
    "{\"method\":\"POST\",\"path\":\"/\",\"body_contains\":\"Action=" action "&\","                \
    "\"responses\":[{\"body\":\"" STS_XML_KEY(action, akid) "\"}]}"

#define STS_XML_KEY(action, akid)                                                                  \
    "<" action "Response><" action "Result><Credentials><SessionToken>tok-" akid                   \
    "</SessionToken><SecretAccessKey>secret-" akid "</SecretAccessKey><Expiration>"                \
    "2030-01-02T03:04:05Z</Expiration><AccessKeyId>" akid "</AccessKeyId></Credentials></" action  \
    "Result></" action "Response>"

/* IMDS routes (token, role, document) serving access key id akid, valid six hours. */
#define IMDS_ROUTES(akid)                                                                          \
    "{\"method\":\"PUT\",\"path\":\"/latest/api/token\",\"responses\":[{\"body\":\"T\"}]},"        \
    "{\"path\":\"/latest/meta-data/iam/security-credentials/\",\"responses\":[{\"body\":"          \
    "\"role\"}]},{\"path\":\"/latest/meta-data/iam/security-credentials/role\",\"responses\":"     \
    "[{\"expires_in\":21600,\"body\":\"{\\\"Code\\\":\\\"Success\\\",\\\"AccessKeyId\\\":"         \
    "\\\"" akid                                                                                    \
    "\\\",\\\"SecretAccessKey\\\":\\\"s\\\",\\\"Token\\\":\\\"t\\\",\\\"Expiration\\\":"           \
    "\\\"{{EXPIRATION}}\\\"}\"}]}"

/* A container endpoint route at path serving access key id akid, valid one hour. */
#define CONTAINER_ROUTE(path, akid)                                                                \
    "{\"path\":\"" path "\",\"responses\":[{\"expires_in\":3600,\"body\":\"{\\\"AccessKeyId"       \
    "\\\":\\\"" akid "\\\",\\\"SecretAccessKey\\\":\\\"s\\\",\\\"Token\\\":\\\"t\\\","             \
    "\\\"Expiration\\\":\\\"{{EXPIRATION}}\\\"}\"}]}"

/* The SSO portal answering GetRoleCredentials with access key id akid. */
#define SSO_ROUTE(akid)                                                                            \
    "{\"path\":\"/federation/credentials\",\"responses\":[{\"json\":{\"roleCredentials\":{"        \
    "\"accessKeyId\":\"" akid "\",\"secretAccessKey\":\"s\",\"sessionToken\":\"t\","               \
    "\"expiration\":1893553445000}}}]}"

#endif
