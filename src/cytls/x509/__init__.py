"""X.509 for TLS 1.3: certificates and keys, trust, chain verification, ``getpeercert()``.

One module per concern, each importing only modules listed before it (nothing is re-exported
here; import a name from the module that defines it):

- :mod:`~cytls.x509.errors`: OpenSSL's ``X509_V_ERR_*`` codes, texts and alerts
  (:class:`~cytls.x509.errors.X509VerifyError`, :func:`~cytls.x509.errors.openssl_alert`).
- :mod:`~cytls.x509.loading`: PEM and DER certificates, our own chain and key
  (:func:`~cytls.x509.loading.load_cert_chain`,
  :func:`~cytls.x509.loading.load_der_certificate`).
- :mod:`~cytls.x509.trust`: the trust store (:class:`~cytls.x509.trust.TrustStore`) and its
  cache of verified paths.
- :mod:`~cytls.x509.hostname`: whether a certificate is valid for a host name or IP address.
- :mod:`~cytls.x509.verify`: chain verification and the diagnosis of a rejected chain
  (:func:`~cytls.x509.verify.verify_server_chain`,
  :func:`~cytls.x509.verify.verify_client_chain`).
- :mod:`~cytls.x509.peercert`: a certificate as ``ssl``'s ``getpeercert()`` returns it
  (:func:`~cytls.x509.peercert.certificate_to_dict`).
"""
