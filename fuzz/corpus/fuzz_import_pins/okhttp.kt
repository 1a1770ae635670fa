val pinner = CertificatePinner.Builder()
    // .add("old.example.com", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    .add("api.example.com", "sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
    .add(
        "**.example.com",
        "sha256/ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=", /* backup */
    )
    .build()
val c = '\"'
